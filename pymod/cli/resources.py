"""``ams topics``, ``subs``, ``offsets``, ``users`` and ``projects``: one function per action."""

from __future__ import annotations

import argparse
from typing import IO, TYPE_CHECKING, Any, Callable, Dict, Mapping, Optional

from pymod.cli.common import (
    CliError,
    non_negative_int,
    parse_time,
    print_json,
    print_object,
    short,
)

if TYPE_CHECKING:
    from pymod.ams import ArgoMessagingService


def cmd_topics_list(args: argparse.Namespace, ams: ArgoMessagingService, out: IO[str]) -> int:
    """``GET /v1/projects/{project}/topics``: one short name per line."""
    items = list(ams.list_topics()["topics"])
    if args.json:
        print_json(items, out)
    else:
        for item in items:
            print(short(str(item.get("name", ""))), file=out)
    return 0


def cmd_topics_show(args: argparse.Namespace, ams: ArgoMessagingService, out: IO[str]) -> int:
    """``GET .../topics/{topic}``."""
    topic = ams.get_topic(args.name)
    assert isinstance(topic, dict)
    print_json(topic, out) if args.json else print_object(topic, out)
    return 0


def cmd_topics_create(args: argparse.Namespace, ams: ArgoMessagingService, out: IO[str]) -> int:
    """``PUT .../topics/{topic}``."""
    topic = ams.create_topic(args.name, schema=args.schema)
    assert isinstance(topic, dict)
    print_json(topic, out) if args.json else print(f"created topic {args.name}", file=out)
    return 0


def cmd_topics_delete(args: argparse.Namespace, ams: ArgoMessagingService, out: IO[str]) -> int:
    """``DELETE .../topics/{topic}``."""
    ams.delete_topic(args.name)
    print(f"deleted topic {args.name}", file=out)
    return 0


def print_acl(acl: Mapping[str, Any], args: argparse.Namespace, out: IO[str]) -> None:
    if args.json:
        print_json(acl, out)
    else:
        for user in acl.get("authorized_users") or []:
            print(user, file=out)


def cmd_topics_acl(args: argparse.Namespace, ams: ArgoMessagingService, out: IO[str]) -> int:
    """``GET .../topics/{topic}:acl`` (after ``POST ...:modifyAcl`` with ``--set``)."""
    if args.users is not None:
        ams.modifyacl_topic(args.name, list(args.users))
    print_acl(ams.getacl_topic(args.name), args, out)
    return 0


def cmd_subs_list(args: argparse.Namespace, ams: ArgoMessagingService, out: IO[str]) -> int:
    """``GET /v1/projects/{project}/subscriptions`` (filtered by ``--topic``)."""
    items = list(ams.list_subs()["subscriptions"])
    if args.topic:
        items = [s for s in items if short(str(s.get("topic", ""))) == args.topic]
    if args.json:
        print_json(items, out)
    else:
        for item in items:
            print(f"{short(str(item.get('name', '')))}\t{short(str(item.get('topic', '')))}",
                  file=out)
    return 0


def cmd_subs_show(args: argparse.Namespace, ams: ArgoMessagingService, out: IO[str]) -> int:
    """``GET .../subscriptions/{sub}``."""
    sub = ams.get_sub(args.name)
    assert isinstance(sub, dict)
    print_json(sub, out) if args.json else print_object(sub, out)
    return 0


def cmd_subs_create(args: argparse.Namespace, ams: ArgoMessagingService, out: IO[str]) -> int:
    """``PUT .../subscriptions/{sub}``."""
    sub = ams.create_sub(args.name, args.topic, ackdeadline=args.ack_deadline,
                         push_endpoint=args.push_endpoint)
    assert isinstance(sub, dict)
    if args.json:
        print_json(sub, out)
    else:
        print(f"created subscription {args.name} on topic {args.topic}", file=out)
    return 0


def cmd_subs_delete(args: argparse.Namespace, ams: ArgoMessagingService, out: IO[str]) -> int:
    """``DELETE .../subscriptions/{sub}``."""
    ams.delete_sub(args.name)
    print(f"deleted subscription {args.name}", file=out)
    return 0


def cmd_subs_acl(args: argparse.Namespace, ams: ArgoMessagingService, out: IO[str]) -> int:
    """``GET .../subscriptions/{sub}:acl`` (after ``POST ...:modifyAcl`` with ``--set``)."""
    if args.users is not None:
        ams.modifyacl_sub(args.name, list(args.users))
    print_acl(ams.getacl_sub(args.name), args, out)
    return 0


# ---- offsets ---------------------------------------------------------------------------------
def cmd_offsets(args: argparse.Namespace, ams: ArgoMessagingService, out: IO[str]) -> int:
    """``GET ...:offsets``; with ``--move``/``--to-time`` first ``POST ...:modifyOffset``
    (``--to-time`` finds the offset with ``GET ...:timeToOffset``)."""
    target: Optional[int] = args.move
    if args.to_time:
        target = ams.time_to_offset_sub(args.subscription, parse_time(args.to_time))
    if target is not None:
        ams.modifyoffset_sub(args.subscription, target)
    offsets = ams.getoffsets_sub(args.subscription)
    assert isinstance(offsets, dict)
    if args.json:
        print_json(offsets, out)
    else:
        if target is not None:
            print(f"moved {args.subscription} to offset {target}", file=out)
        print_object(offsets, out)
    return 0


# ---- users and projects ----------------------------------------------------------------------
def _user_dict(user: Any, show_token: bool) -> Dict[str, Any]:
    data = {
        "name": user.name, "uuid": user.uuid, "email": user.email,
        "projects": [{"project": p.project, "roles": p.roles} for p in user.projects],
        "service_roles": user.service_roles, "created_on": user.created_on,
    }
    if show_token:
        data["token"] = user.token
    return data


def cmd_users_list(args: argparse.Namespace, ams: ArgoMessagingService, out: IO[str]) -> int:
    """``GET /v1/users``."""
    users = list(ams.iter_users(details=True))
    if args.json:
        print_json([_user_dict(u, False) for u in users], out)
    else:
        for user in users:
            print(user.name, file=out)
    return 0


def cmd_users_show(args: argparse.Namespace, ams: ArgoMessagingService, out: IO[str]) -> int:
    """``GET /v1/users/{user}``; the token only with ``--show-token``."""
    data = _user_dict(ams.get_user(args.name), args.show_token)
    print_json(data, out) if args.json else print_object(data, out)
    return 0


def cmd_users_create(args: argparse.Namespace, ams: ArgoMessagingService, out: IO[str]) -> int:
    """``POST /v1/users/{user}``; prints the new user with its token."""
    from pymod.amsuser import AmsUser, AmsUserProject

    projects = []
    for spec in args.member:
        project, _, roles = spec.partition(":")
        if not project:
            raise CliError(f"--member: expected PROJECT:ROLE[,ROLE], got {spec!r}")
        projects.append(AmsUserProject(project, [r for r in roles.split(",") if r]))
    user = ams.create_user(AmsUser(name=args.name, email=args.email, projects=projects,
                                   service_roles=list(args.service_role)))
    data = _user_dict(user, True)
    print_json(data, out) if args.json else print_object(data, out)
    return 0


def cmd_users_delete(args: argparse.Namespace, ams: ArgoMessagingService, out: IO[str]) -> int:
    """``DELETE /v1/users/{user}``."""
    ams.delete_user(args.name)
    print(f"deleted user {args.name}", file=out)
    return 0


def cmd_projects_list(args: argparse.Namespace, ams: ArgoMessagingService, out: IO[str]) -> int:
    """``GET /v1/projects``."""
    projects = ams.list_projects()
    if args.json:
        print_json(projects, out)
    else:
        for project in projects:
            print(project.get("name", ""), file=out)
    return 0


def cmd_projects_show(args: argparse.Namespace, ams: ArgoMessagingService, out: IO[str]) -> int:
    """``GET /v1/projects/{project}``."""
    project = ams.get_project(args.name)
    print_json(project, out) if args.json else print_object(project, out)
    return 0


def cmd_projects_create(args: argparse.Namespace, ams: ArgoMessagingService, out: IO[str]) -> int:
    """``POST /v1/projects/{project}``."""
    project = ams.create_project(args.name, args.description)
    print_json(project, out) if args.json else print(f"created project {args.name}", file=out)
    return 0


def cmd_projects_delete(args: argparse.Namespace, ams: ArgoMessagingService, out: IO[str]) -> int:
    """``DELETE /v1/projects/{project}``."""
    ams.delete_project(args.name)
    print(f"deleted project {args.name}", file=out)
    return 0


def _named(sub: Callable[..., argparse.ArgumentParser], container: Any, action: str, help: str,
           func: Any, kind: str) -> argparse.ArgumentParser:
    """An action on one named ``kind`` of resource (``ams topics show NAME``)."""
    p = sub(container, action, help)
    p.add_argument("name")
    p.set_defaults(func=func, resource=kind)
    return p


def add_parsers(commands: Any, sub: Callable[..., argparse.ArgumentParser]) -> None:
    """The ``topics``, ``subs``, ``offsets``, ``users`` and ``projects`` commands."""
    # topics
    topics = sub(commands, "topics", "list, show, create and delete topics; read/set ACLs")
    tcmd = topics.add_subparsers(dest="action", metavar="ACTION", required=True)
    sub(tcmd, "list", "list the project's topics").set_defaults(func=cmd_topics_list)
    _named(sub, tcmd, "show", "show a topic", cmd_topics_show, "topic")
    _named(sub, tcmd, "create", "create a topic", cmd_topics_create, "topic").add_argument(
        "--schema", help="validate messages against this schema")
    _named(sub, tcmd, "delete", "delete a topic and its messages", cmd_topics_delete, "topic")
    _named(sub, tcmd, "acl", "show the topic's ACL, or replace it with --set", cmd_topics_acl,
           "topic").add_argument("--set", nargs="*", metavar="USER", dest="users",
                                 help="users allowed to publish (no names: clear the ACL)")

    # subscriptions
    subs = sub(commands, "subs", "list, show, create and delete subscriptions; read/set ACLs")
    scmd = subs.add_subparsers(dest="action", metavar="ACTION", required=True)
    p = sub(scmd, "list", "list the project's subscriptions")
    p.add_argument("--topic", help="only the subscriptions of this topic")
    p.set_defaults(func=cmd_subs_list)
    _named(sub, scmd, "show", "show a subscription", cmd_subs_show, "subscription")
    p = _named(sub, scmd, "create", "create a subscription", cmd_subs_create, "subscription")
    p.add_argument("--topic", required=True, help="the topic to read from")
    p.add_argument("--ack-deadline", type=non_negative_int, default=10,
                   help="seconds to acknowledge a pulled batch (default 10)")
    p.add_argument("--push-endpoint", help="https URL to push messages to (push subscription)")
    _named(sub, scmd, "delete", "delete a subscription", cmd_subs_delete, "subscription")
    _named(sub, scmd, "acl", "show the subscription's ACL, or replace it with --set",
           cmd_subs_acl, "subscription").add_argument(
        "--set", nargs="*", metavar="USER", dest="users",
        help="users allowed to pull (no names: clear the ACL)")

    # offsets
    p = sub(commands, "offsets", "show a subscription's offsets, or move its current offset")
    p.add_argument("subscription")
    move = p.add_mutually_exclusive_group()
    move.add_argument("--move", type=non_negative_int, metavar="N",
                      help="move the current offset to N (replay or skip)")
    move.add_argument("--to-time", metavar="ISO8601",
                      help="move to the first message published at or after this time")
    p.set_defaults(func=cmd_offsets, resource="subscription", resource_arg="subscription")

    # users (service admins)
    users = sub(commands, "users", "list, show, create and delete users (service admin)")
    ucmd = users.add_subparsers(dest="action", metavar="ACTION", required=True)
    sub(ucmd, "list", "list users").set_defaults(func=cmd_users_list, need_project=False)
    p = sub(ucmd, "show", "show a user (the token only with --show-token)")
    p.add_argument("name")
    p.add_argument("--show-token", action="store_true", help="print the user's token too")
    p.set_defaults(func=cmd_users_show, need_project=False, resource="user")
    p = sub(ucmd, "create", "create a user (prints the new token)")
    p.add_argument("name")
    p.add_argument("--email", default="")
    p.add_argument("--member", action="append", default=[], metavar="PROJECT:ROLE[,ROLE]",
                   help="project membership, e.g. DEMO:publisher,consumer (repeatable)")
    p.add_argument("--service-role", action="append", default=[], metavar="ROLE",
                   help="service role such as service_admin (repeatable)")
    p.set_defaults(func=cmd_users_create, need_project=False, resource="user")
    p = sub(ucmd, "delete", "delete a user")
    p.add_argument("name")
    p.set_defaults(func=cmd_users_delete, need_project=False, resource="user")

    # projects (service admins)
    projects = sub(commands, "projects", "list, show, create and delete projects (service admin)")
    pcmd = projects.add_subparsers(dest="action", metavar="ACTION", required=True)
    sub(pcmd, "list", "list projects").set_defaults(func=cmd_projects_list, need_project=False)
    p = sub(pcmd, "show", "show a project")
    p.add_argument("name")
    p.set_defaults(func=cmd_projects_show, need_project=False, resource="project")
    p = sub(pcmd, "create", "create a project")
    p.add_argument("name")
    p.add_argument("--description", default="")
    p.set_defaults(func=cmd_projects_create, need_project=False, resource="project")
    p = sub(pcmd, "delete", "delete a project with its topics and subscriptions")
    p.add_argument("name")
    p.set_defaults(func=cmd_projects_delete, need_project=False, resource="project")
