"""pymod: Python client for the ARGO Messaging Service (AMS).

The public names::

    from pymod import ArgoMessagingService, AmsMessage, AmsTopic, AmsSubscription
    from pymod import AmsUser, AmsUserProject, AmsUserPage
    from pymod import AmsException, AmsServiceException, AmsConnectionException, ...
"""

from pymod.__version__ import __version__
from pymod.ams import AmsHttpRequests, ArgoMessagingService
from pymod.amsexceptions import (
    AmsArgumentException,
    AmsBalancerException,
    AmsBalancerTimeoutException,
    AmsConnectionException,
    AmsDeadlineException,
    AmsException,
    AmsMessageException,
    AmsPublishException,
    AmsReplyMismatchException,
    AmsReplyTooLargeException,
    AmsResponseException,
    AmsServiceException,
    AmsTimeoutException,
)
from pymod.amsmsg import AmsMessage
from pymod.amsproject import AmsProject
from pymod.amsschema import AmsSchema
from pymod.amssubscription import AmsSubscription
from pymod.amstopic import AmsTopic
from pymod.amsuser import AmsUser, AmsUserPage, AmsUserProject
from pymod.consumer import Consumer, ConsumeResult, FileCheckpoint
from pymod.publisher import AmsFlowControlException, AmsPublisherClosedException, Publisher
from pymod.retry import RetryPolicy

__all__ = [
    "AmsArgumentException",
    "AmsBalancerException",
    "AmsBalancerTimeoutException",
    "AmsConnectionException",
    "AmsDeadlineException",
    "AmsException",
    "AmsFlowControlException",
    "AmsHttpRequests",
    "AmsMessage",
    "AmsMessageException",
    "AmsProject",
    "AmsPublishException",
    "AmsPublisherClosedException",
    "AmsReplyMismatchException",
    "AmsReplyTooLargeException",
    "AmsResponseException",
    "AmsSchema",
    "AmsServiceException",
    "AmsSubscription",
    "AmsTimeoutException",
    "AmsTopic",
    "AmsUser",
    "AmsUserPage",
    "AmsUserProject",
    "ArgoMessagingService",
    "ConsumeResult",
    "Consumer",
    "FileCheckpoint",
    "Publisher",
    "RetryPolicy",
    "__version__",
]
