"""The facade's parts, one module per kind of resource, composed by
:class:`pymod.ams.ArgoMessagingService`."""
