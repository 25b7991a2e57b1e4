from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ErrorCode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ERROR_UNSPECIFIED: _ClassVar[ErrorCode]
    MALFORMED_MESSAGE: _ClassVar[ErrorCode]
    PROTOCOL_VERSION: _ClassVar[ErrorCode]
    WRONG_PASSWORD: _ClassVar[ErrorCode]
    BAD_SIGNATURE: _ClassVar[ErrorCode]
    NOT_AUTHENTICATED: _ClassVar[ErrorCode]
    UNKNOWN_ROOM: _ClassVar[ErrorCode]
    INVALID_NAME: _ClassVar[ErrorCode]
    CHAT_TOO_LONG: _ClassVar[ErrorCode]
    ROOT_ROOM: _ClassVar[ErrorCode]
    PERMISSION_DENIED: _ClassVar[ErrorCode]
    ALREADY_CONNECTED: _ClassVar[ErrorCode]
    SERVER_SHUTDOWN: _ClassVar[ErrorCode]
    RATE_LIMITED: _ClassVar[ErrorCode]
    INTERNAL: _ClassVar[ErrorCode]
    ALREADY_IN_ROOM: _ClassVar[ErrorCode]
    HELLO_TIMEOUT: _ClassVar[ErrorCode]
    SERVER_FULL: _ClassVar[ErrorCode]
    TOO_SLOW: _ClassVar[ErrorCode]
    LIMIT_REACHED: _ClassVar[ErrorCode]
    ADDRESS_BANNED: _ClassVar[ErrorCode]
    CONTROL_STREAM_CLOSED: _ClassVar[ErrorCode]
    KICKED: _ClassVar[ErrorCode]
    BANNED: _ClassVar[ErrorCode]
    NAME_TAKEN: _ClassVar[ErrorCode]
    NAME_RESERVED: _ClassVar[ErrorCode]
    UNKNOWN_USER: _ClassVar[ErrorCode]
    UNKNOWN_ROLE: _ClassVar[ErrorCode]
    ROLE_EXISTS: _ClassVar[ErrorCode]
    INVALID_ACL: _ClassVar[ErrorCode]
    BAD_TOKEN: _ClassVar[ErrorCode]
    NOT_BANNED: _ClassVar[ErrorCode]
    UNKNOWN_FILE: _ClassVar[ErrorCode]
    FILE_TOO_BIG: _ClassVar[ErrorCode]
    BAD_TORRENT: _ClassVar[ErrorCode]
    SEED_STORE_FULL: _ClassVar[ErrorCode]
    NOT_A_MEMBER: _ClassVar[ErrorCode]

class Permission(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PERMISSION_NONE: _ClassVar[Permission]
    ENTER: _ClassVar[Permission]
    SPEAK: _ClassVar[Permission]
    TEXT: _ClassVar[Permission]
    MAKE_ROOM: _ClassVar[Permission]
    WRITE: _ClassVar[Permission]
    MOVE: _ClassVar[Permission]
    MUTE_DEAFEN: _ClassVar[Permission]
    KICK: _ClassVar[Permission]
    BAN: _ClassVar[Permission]
    MANAGE_ROLES: _ClassVar[Permission]
    ADMIN: _ClassVar[Permission]
ERROR_UNSPECIFIED: ErrorCode
MALFORMED_MESSAGE: ErrorCode
PROTOCOL_VERSION: ErrorCode
WRONG_PASSWORD: ErrorCode
BAD_SIGNATURE: ErrorCode
NOT_AUTHENTICATED: ErrorCode
UNKNOWN_ROOM: ErrorCode
INVALID_NAME: ErrorCode
CHAT_TOO_LONG: ErrorCode
ROOT_ROOM: ErrorCode
PERMISSION_DENIED: ErrorCode
ALREADY_CONNECTED: ErrorCode
SERVER_SHUTDOWN: ErrorCode
RATE_LIMITED: ErrorCode
INTERNAL: ErrorCode
ALREADY_IN_ROOM: ErrorCode
HELLO_TIMEOUT: ErrorCode
SERVER_FULL: ErrorCode
TOO_SLOW: ErrorCode
LIMIT_REACHED: ErrorCode
ADDRESS_BANNED: ErrorCode
CONTROL_STREAM_CLOSED: ErrorCode
KICKED: ErrorCode
BANNED: ErrorCode
NAME_TAKEN: ErrorCode
NAME_RESERVED: ErrorCode
UNKNOWN_USER: ErrorCode
UNKNOWN_ROLE: ErrorCode
ROLE_EXISTS: ErrorCode
INVALID_ACL: ErrorCode
BAD_TOKEN: ErrorCode
NOT_BANNED: ErrorCode
UNKNOWN_FILE: ErrorCode
FILE_TOO_BIG: ErrorCode
BAD_TORRENT: ErrorCode
SEED_STORE_FULL: ErrorCode
NOT_A_MEMBER: ErrorCode
PERMISSION_NONE: Permission
ENTER: Permission
SPEAK: Permission
TEXT: Permission
MAKE_ROOM: Permission
WRITE: Permission
MOVE: Permission
MUTE_DEAFEN: Permission
KICK: Permission
BAN: Permission
MANAGE_ROLES: Permission
ADMIN: Permission

class Envelope(_message.Message):
    __slots__ = ("state_hash", "request_id", "challenge", "client_hello", "welcome", "server_state", "state_update", "join_room", "create_room", "delete_room", "rename_room", "send_chat", "resync_request", "set_display_name", "chat_message", "error", "ack", "goodbye", "get_acl", "room_acl", "set_acl", "list_roles", "role_list", "create_role", "delete_role", "grant_role", "revoke_role", "kick_user", "ban_user", "unban", "list_bans", "ban_list", "move_user", "set_server_mute", "redeem_admin_token", "list_users", "user_list", "permissions", "set_self_mute", "room_history", "share_file", "file_shared", "announce", "peer_list", "loss_report", "loss_feedback")
    STATE_HASH_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    CHALLENGE_FIELD_NUMBER: _ClassVar[int]
    CLIENT_HELLO_FIELD_NUMBER: _ClassVar[int]
    WELCOME_FIELD_NUMBER: _ClassVar[int]
    SERVER_STATE_FIELD_NUMBER: _ClassVar[int]
    STATE_UPDATE_FIELD_NUMBER: _ClassVar[int]
    JOIN_ROOM_FIELD_NUMBER: _ClassVar[int]
    CREATE_ROOM_FIELD_NUMBER: _ClassVar[int]
    DELETE_ROOM_FIELD_NUMBER: _ClassVar[int]
    RENAME_ROOM_FIELD_NUMBER: _ClassVar[int]
    SEND_CHAT_FIELD_NUMBER: _ClassVar[int]
    RESYNC_REQUEST_FIELD_NUMBER: _ClassVar[int]
    SET_DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    CHAT_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    ACK_FIELD_NUMBER: _ClassVar[int]
    GOODBYE_FIELD_NUMBER: _ClassVar[int]
    GET_ACL_FIELD_NUMBER: _ClassVar[int]
    ROOM_ACL_FIELD_NUMBER: _ClassVar[int]
    SET_ACL_FIELD_NUMBER: _ClassVar[int]
    LIST_ROLES_FIELD_NUMBER: _ClassVar[int]
    ROLE_LIST_FIELD_NUMBER: _ClassVar[int]
    CREATE_ROLE_FIELD_NUMBER: _ClassVar[int]
    DELETE_ROLE_FIELD_NUMBER: _ClassVar[int]
    GRANT_ROLE_FIELD_NUMBER: _ClassVar[int]
    REVOKE_ROLE_FIELD_NUMBER: _ClassVar[int]
    KICK_USER_FIELD_NUMBER: _ClassVar[int]
    BAN_USER_FIELD_NUMBER: _ClassVar[int]
    UNBAN_FIELD_NUMBER: _ClassVar[int]
    LIST_BANS_FIELD_NUMBER: _ClassVar[int]
    BAN_LIST_FIELD_NUMBER: _ClassVar[int]
    MOVE_USER_FIELD_NUMBER: _ClassVar[int]
    SET_SERVER_MUTE_FIELD_NUMBER: _ClassVar[int]
    REDEEM_ADMIN_TOKEN_FIELD_NUMBER: _ClassVar[int]
    LIST_USERS_FIELD_NUMBER: _ClassVar[int]
    USER_LIST_FIELD_NUMBER: _ClassVar[int]
    PERMISSIONS_FIELD_NUMBER: _ClassVar[int]
    SET_SELF_MUTE_FIELD_NUMBER: _ClassVar[int]
    ROOM_HISTORY_FIELD_NUMBER: _ClassVar[int]
    SHARE_FILE_FIELD_NUMBER: _ClassVar[int]
    FILE_SHARED_FIELD_NUMBER: _ClassVar[int]
    ANNOUNCE_FIELD_NUMBER: _ClassVar[int]
    PEER_LIST_FIELD_NUMBER: _ClassVar[int]
    LOSS_REPORT_FIELD_NUMBER: _ClassVar[int]
    LOSS_FEEDBACK_FIELD_NUMBER: _ClassVar[int]
    state_hash: bytes
    request_id: int
    challenge: Challenge
    client_hello: ClientHello
    welcome: Welcome
    server_state: ServerState
    state_update: StateUpdate
    join_room: JoinRoom
    create_room: CreateRoom
    delete_room: DeleteRoom
    rename_room: RenameRoom
    send_chat: SendChat
    resync_request: ResyncRequest
    set_display_name: SetDisplayName
    chat_message: ChatMessage
    error: Error
    ack: Ack
    goodbye: Goodbye
    get_acl: GetAcl
    room_acl: RoomAcl
    set_acl: SetAcl
    list_roles: ListRoles
    role_list: RoleList
    create_role: CreateRole
    delete_role: DeleteRole
    grant_role: GrantRole
    revoke_role: RevokeRole
    kick_user: KickUser
    ban_user: BanUser
    unban: Unban
    list_bans: ListBans
    ban_list: BanList
    move_user: MoveUser
    set_server_mute: SetServerMute
    redeem_admin_token: RedeemAdminToken
    list_users: ListUsers
    user_list: UserList
    permissions: Permissions
    set_self_mute: SetSelfMute
    room_history: RoomHistory
    share_file: ShareFile
    file_shared: FileShared
    announce: Announce
    peer_list: PeerList
    loss_report: LossReport
    loss_feedback: LossFeedback
    def __init__(self, state_hash: _Optional[bytes] = ..., request_id: _Optional[int] = ..., challenge: _Optional[_Union[Challenge, _Mapping]] = ..., client_hello: _Optional[_Union[ClientHello, _Mapping]] = ..., welcome: _Optional[_Union[Welcome, _Mapping]] = ..., server_state: _Optional[_Union[ServerState, _Mapping]] = ..., state_update: _Optional[_Union[StateUpdate, _Mapping]] = ..., join_room: _Optional[_Union[JoinRoom, _Mapping]] = ..., create_room: _Optional[_Union[CreateRoom, _Mapping]] = ..., delete_room: _Optional[_Union[DeleteRoom, _Mapping]] = ..., rename_room: _Optional[_Union[RenameRoom, _Mapping]] = ..., send_chat: _Optional[_Union[SendChat, _Mapping]] = ..., resync_request: _Optional[_Union[ResyncRequest, _Mapping]] = ..., set_display_name: _Optional[_Union[SetDisplayName, _Mapping]] = ..., chat_message: _Optional[_Union[ChatMessage, _Mapping]] = ..., error: _Optional[_Union[Error, _Mapping]] = ..., ack: _Optional[_Union[Ack, _Mapping]] = ..., goodbye: _Optional[_Union[Goodbye, _Mapping]] = ..., get_acl: _Optional[_Union[GetAcl, _Mapping]] = ..., room_acl: _Optional[_Union[RoomAcl, _Mapping]] = ..., set_acl: _Optional[_Union[SetAcl, _Mapping]] = ..., list_roles: _Optional[_Union[ListRoles, _Mapping]] = ..., role_list: _Optional[_Union[RoleList, _Mapping]] = ..., create_role: _Optional[_Union[CreateRole, _Mapping]] = ..., delete_role: _Optional[_Union[DeleteRole, _Mapping]] = ..., grant_role: _Optional[_Union[GrantRole, _Mapping]] = ..., revoke_role: _Optional[_Union[RevokeRole, _Mapping]] = ..., kick_user: _Optional[_Union[KickUser, _Mapping]] = ..., ban_user: _Optional[_Union[BanUser, _Mapping]] = ..., unban: _Optional[_Union[Unban, _Mapping]] = ..., list_bans: _Optional[_Union[ListBans, _Mapping]] = ..., ban_list: _Optional[_Union[BanList, _Mapping]] = ..., move_user: _Optional[_Union[MoveUser, _Mapping]] = ..., set_server_mute: _Optional[_Union[SetServerMute, _Mapping]] = ..., redeem_admin_token: _Optional[_Union[RedeemAdminToken, _Mapping]] = ..., list_users: _Optional[_Union[ListUsers, _Mapping]] = ..., user_list: _Optional[_Union[UserList, _Mapping]] = ..., permissions: _Optional[_Union[Permissions, _Mapping]] = ..., set_self_mute: _Optional[_Union[SetSelfMute, _Mapping]] = ..., room_history: _Optional[_Union[RoomHistory, _Mapping]] = ..., share_file: _Optional[_Union[ShareFile, _Mapping]] = ..., file_shared: _Optional[_Union[FileShared, _Mapping]] = ..., announce: _Optional[_Union[Announce, _Mapping]] = ..., peer_list: _Optional[_Union[PeerList, _Mapping]] = ..., loss_report: _Optional[_Union[LossReport, _Mapping]] = ..., loss_feedback: _Optional[_Union[LossFeedback, _Mapping]] = ...) -> None: ...

class Challenge(_message.Message):
    __slots__ = ("nonce", "protocol_version", "server_name")
    NONCE_FIELD_NUMBER: _ClassVar[int]
    PROTOCOL_VERSION_FIELD_NUMBER: _ClassVar[int]
    SERVER_NAME_FIELD_NUMBER: _ClassVar[int]
    nonce: bytes
    protocol_version: int
    server_name: str
    def __init__(self, nonce: _Optional[bytes] = ..., protocol_version: _Optional[int] = ..., server_name: _Optional[str] = ...) -> None: ...

class ClientHello(_message.Message):
    __slots__ = ("protocol_version", "display_name", "public_key", "password", "signature")
    PROTOCOL_VERSION_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    PUBLIC_KEY_FIELD_NUMBER: _ClassVar[int]
    PASSWORD_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    protocol_version: int
    display_name: str
    public_key: bytes
    password: str
    signature: bytes
    def __init__(self, protocol_version: _Optional[int] = ..., display_name: _Optional[str] = ..., public_key: _Optional[bytes] = ..., password: _Optional[str] = ..., signature: _Optional[bytes] = ...) -> None: ...

class Welcome(_message.Message):
    __slots__ = ("user_id", "server_name", "root_room_id", "max_chat_length", "max_datagram_size", "motd", "web_certificate_hashes", "web_page", "history_lines", "max_share_size")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    SERVER_NAME_FIELD_NUMBER: _ClassVar[int]
    ROOT_ROOM_ID_FIELD_NUMBER: _ClassVar[int]
    MAX_CHAT_LENGTH_FIELD_NUMBER: _ClassVar[int]
    MAX_DATAGRAM_SIZE_FIELD_NUMBER: _ClassVar[int]
    MOTD_FIELD_NUMBER: _ClassVar[int]
    WEB_CERTIFICATE_HASHES_FIELD_NUMBER: _ClassVar[int]
    WEB_PAGE_FIELD_NUMBER: _ClassVar[int]
    HISTORY_LINES_FIELD_NUMBER: _ClassVar[int]
    MAX_SHARE_SIZE_FIELD_NUMBER: _ClassVar[int]
    user_id: int
    server_name: str
    root_room_id: int
    max_chat_length: int
    max_datagram_size: int
    motd: str
    web_certificate_hashes: _containers.RepeatedScalarFieldContainer[bytes]
    web_page: str
    history_lines: int
    max_share_size: int
    def __init__(self, user_id: _Optional[int] = ..., server_name: _Optional[str] = ..., root_room_id: _Optional[int] = ..., max_chat_length: _Optional[int] = ..., max_datagram_size: _Optional[int] = ..., motd: _Optional[str] = ..., web_certificate_hashes: _Optional[_Iterable[bytes]] = ..., web_page: _Optional[str] = ..., history_lines: _Optional[int] = ..., max_share_size: _Optional[int] = ...) -> None: ...

class RoomInfo(_message.Message):
    __slots__ = ("id", "name", "parent_id")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    PARENT_ID_FIELD_NUMBER: _ClassVar[int]
    id: int
    name: str
    parent_id: int
    def __init__(self, id: _Optional[int] = ..., name: _Optional[str] = ..., parent_id: _Optional[int] = ...) -> None: ...

class User(_message.Message):
    __slots__ = ("id", "name", "room_id", "self_mute", "self_deaf", "server_mute", "server_deaf", "roles")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    ROOM_ID_FIELD_NUMBER: _ClassVar[int]
    SELF_MUTE_FIELD_NUMBER: _ClassVar[int]
    SELF_DEAF_FIELD_NUMBER: _ClassVar[int]
    SERVER_MUTE_FIELD_NUMBER: _ClassVar[int]
    SERVER_DEAF_FIELD_NUMBER: _ClassVar[int]
    ROLES_FIELD_NUMBER: _ClassVar[int]
    id: int
    name: str
    room_id: int
    self_mute: bool
    self_deaf: bool
    server_mute: bool
    server_deaf: bool
    roles: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, id: _Optional[int] = ..., name: _Optional[str] = ..., room_id: _Optional[int] = ..., self_mute: _Optional[bool] = ..., self_deaf: _Optional[bool] = ..., server_mute: _Optional[bool] = ..., server_deaf: _Optional[bool] = ..., roles: _Optional[_Iterable[str]] = ...) -> None: ...

class ServerState(_message.Message):
    __slots__ = ("rooms", "users")
    ROOMS_FIELD_NUMBER: _ClassVar[int]
    USERS_FIELD_NUMBER: _ClassVar[int]
    rooms: _containers.RepeatedCompositeFieldContainer[RoomInfo]
    users: _containers.RepeatedCompositeFieldContainer[User]
    def __init__(self, rooms: _Optional[_Iterable[_Union[RoomInfo, _Mapping]]] = ..., users: _Optional[_Iterable[_Union[User, _Mapping]]] = ...) -> None: ...

class UserJoined(_message.Message):
    __slots__ = ("user",)
    USER_FIELD_NUMBER: _ClassVar[int]
    user: User
    def __init__(self, user: _Optional[_Union[User, _Mapping]] = ...) -> None: ...

class UserLeft(_message.Message):
    __slots__ = ("user_id",)
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    user_id: int
    def __init__(self, user_id: _Optional[int] = ...) -> None: ...

class UserMoved(_message.Message):
    __slots__ = ("user_id", "room_id")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    ROOM_ID_FIELD_NUMBER: _ClassVar[int]
    user_id: int
    room_id: int
    def __init__(self, user_id: _Optional[int] = ..., room_id: _Optional[int] = ...) -> None: ...

class UserRenamed(_message.Message):
    __slots__ = ("user_id", "name")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    user_id: int
    name: str
    def __init__(self, user_id: _Optional[int] = ..., name: _Optional[str] = ...) -> None: ...

class RoomCreated(_message.Message):
    __slots__ = ("room",)
    ROOM_FIELD_NUMBER: _ClassVar[int]
    room: RoomInfo
    def __init__(self, room: _Optional[_Union[RoomInfo, _Mapping]] = ...) -> None: ...

class RoomDeleted(_message.Message):
    __slots__ = ("room_id",)
    ROOM_ID_FIELD_NUMBER: _ClassVar[int]
    room_id: int
    def __init__(self, room_id: _Optional[int] = ...) -> None: ...

class RoomRenamed(_message.Message):
    __slots__ = ("room_id", "name")
    ROOM_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    room_id: int
    name: str
    def __init__(self, room_id: _Optional[int] = ..., name: _Optional[str] = ...) -> None: ...

class UserServerMuted(_message.Message):
    __slots__ = ("user_id", "server_mute", "server_deaf")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    SERVER_MUTE_FIELD_NUMBER: _ClassVar[int]
    SERVER_DEAF_FIELD_NUMBER: _ClassVar[int]
    user_id: int
    server_mute: bool
    server_deaf: bool
    def __init__(self, user_id: _Optional[int] = ..., server_mute: _Optional[bool] = ..., server_deaf: _Optional[bool] = ...) -> None: ...

class UserRolesChanged(_message.Message):
    __slots__ = ("user_id", "roles")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    ROLES_FIELD_NUMBER: _ClassVar[int]
    user_id: int
    roles: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, user_id: _Optional[int] = ..., roles: _Optional[_Iterable[str]] = ...) -> None: ...

class UserSelfMuted(_message.Message):
    __slots__ = ("user_id", "self_mute", "self_deaf")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    SELF_MUTE_FIELD_NUMBER: _ClassVar[int]
    SELF_DEAF_FIELD_NUMBER: _ClassVar[int]
    user_id: int
    self_mute: bool
    self_deaf: bool
    def __init__(self, user_id: _Optional[int] = ..., self_mute: _Optional[bool] = ..., self_deaf: _Optional[bool] = ...) -> None: ...

class StateUpdate(_message.Message):
    __slots__ = ("user_joined", "user_left", "user_moved", "room_created", "room_deleted", "room_renamed", "user_renamed", "user_self_muted", "user_server_muted", "user_roles_changed")
    USER_JOINED_FIELD_NUMBER: _ClassVar[int]
    USER_LEFT_FIELD_NUMBER: _ClassVar[int]
    USER_MOVED_FIELD_NUMBER: _ClassVar[int]
    ROOM_CREATED_FIELD_NUMBER: _ClassVar[int]
    ROOM_DELETED_FIELD_NUMBER: _ClassVar[int]
    ROOM_RENAMED_FIELD_NUMBER: _ClassVar[int]
    USER_RENAMED_FIELD_NUMBER: _ClassVar[int]
    USER_SELF_MUTED_FIELD_NUMBER: _ClassVar[int]
    USER_SERVER_MUTED_FIELD_NUMBER: _ClassVar[int]
    USER_ROLES_CHANGED_FIELD_NUMBER: _ClassVar[int]
    user_joined: UserJoined
    user_left: UserLeft
    user_moved: UserMoved
    room_created: RoomCreated
    room_deleted: RoomDeleted
    room_renamed: RoomRenamed
    user_renamed: UserRenamed
    user_self_muted: UserSelfMuted
    user_server_muted: UserServerMuted
    user_roles_changed: UserRolesChanged
    def __init__(self, user_joined: _Optional[_Union[UserJoined, _Mapping]] = ..., user_left: _Optional[_Union[UserLeft, _Mapping]] = ..., user_moved: _Optional[_Union[UserMoved, _Mapping]] = ..., room_created: _Optional[_Union[RoomCreated, _Mapping]] = ..., room_deleted: _Optional[_Union[RoomDeleted, _Mapping]] = ..., room_renamed: _Optional[_Union[RoomRenamed, _Mapping]] = ..., user_renamed: _Optional[_Union[UserRenamed, _Mapping]] = ..., user_self_muted: _Optional[_Union[UserSelfMuted, _Mapping]] = ..., user_server_muted: _Optional[_Union[UserServerMuted, _Mapping]] = ..., user_roles_changed: _Optional[_Union[UserRolesChanged, _Mapping]] = ...) -> None: ...

class JoinRoom(_message.Message):
    __slots__ = ("room_id",)
    ROOM_ID_FIELD_NUMBER: _ClassVar[int]
    room_id: int
    def __init__(self, room_id: _Optional[int] = ...) -> None: ...

class SetSelfMute(_message.Message):
    __slots__ = ("self_mute", "self_deaf")
    SELF_MUTE_FIELD_NUMBER: _ClassVar[int]
    SELF_DEAF_FIELD_NUMBER: _ClassVar[int]
    self_mute: bool
    self_deaf: bool
    def __init__(self, self_mute: _Optional[bool] = ..., self_deaf: _Optional[bool] = ...) -> None: ...

class CreateRoom(_message.Message):
    __slots__ = ("parent_id", "name")
    PARENT_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    parent_id: int
    name: str
    def __init__(self, parent_id: _Optional[int] = ..., name: _Optional[str] = ...) -> None: ...

class DeleteRoom(_message.Message):
    __slots__ = ("room_id",)
    ROOM_ID_FIELD_NUMBER: _ClassVar[int]
    room_id: int
    def __init__(self, room_id: _Optional[int] = ...) -> None: ...

class RenameRoom(_message.Message):
    __slots__ = ("room_id", "name")
    ROOM_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    room_id: int
    name: str
    def __init__(self, room_id: _Optional[int] = ..., name: _Optional[str] = ...) -> None: ...

class SendChat(_message.Message):
    __slots__ = ("text",)
    TEXT_FIELD_NUMBER: _ClassVar[int]
    text: str
    def __init__(self, text: _Optional[str] = ...) -> None: ...

class ResyncRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class SetDisplayName(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class ChatMessage(_message.Message):
    __slots__ = ("sender_id", "sender_name", "room_id", "text", "server_time_ms")
    SENDER_ID_FIELD_NUMBER: _ClassVar[int]
    SENDER_NAME_FIELD_NUMBER: _ClassVar[int]
    ROOM_ID_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    SERVER_TIME_MS_FIELD_NUMBER: _ClassVar[int]
    sender_id: int
    sender_name: str
    room_id: int
    text: str
    server_time_ms: int
    def __init__(self, sender_id: _Optional[int] = ..., sender_name: _Optional[str] = ..., room_id: _Optional[int] = ..., text: _Optional[str] = ..., server_time_ms: _Optional[int] = ...) -> None: ...

class Error(_message.Message):
    __slots__ = ("code", "message", "retry_after_ms", "missing_permission")
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    RETRY_AFTER_MS_FIELD_NUMBER: _ClassVar[int]
    MISSING_PERMISSION_FIELD_NUMBER: _ClassVar[int]
    code: ErrorCode
    message: str
    retry_after_ms: int
    missing_permission: int
    def __init__(self, code: _Optional[_Union[ErrorCode, str]] = ..., message: _Optional[str] = ..., retry_after_ms: _Optional[int] = ..., missing_permission: _Optional[int] = ...) -> None: ...

class Ack(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class Goodbye(_message.Message):
    __slots__ = ("code", "message")
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    code: ErrorCode
    message: str
    def __init__(self, code: _Optional[_Union[ErrorCode, str]] = ..., message: _Optional[str] = ...) -> None: ...

class AclEntry(_message.Message):
    __slots__ = ("user_id", "role", "allow", "deny", "apply_here", "apply_subs")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    ALLOW_FIELD_NUMBER: _ClassVar[int]
    DENY_FIELD_NUMBER: _ClassVar[int]
    APPLY_HERE_FIELD_NUMBER: _ClassVar[int]
    APPLY_SUBS_FIELD_NUMBER: _ClassVar[int]
    user_id: int
    role: str
    allow: int
    deny: int
    apply_here: bool
    apply_subs: bool
    def __init__(self, user_id: _Optional[int] = ..., role: _Optional[str] = ..., allow: _Optional[int] = ..., deny: _Optional[int] = ..., apply_here: _Optional[bool] = ..., apply_subs: _Optional[bool] = ...) -> None: ...

class GetAcl(_message.Message):
    __slots__ = ("room_id",)
    ROOM_ID_FIELD_NUMBER: _ClassVar[int]
    room_id: int
    def __init__(self, room_id: _Optional[int] = ...) -> None: ...

class RoomAcl(_message.Message):
    __slots__ = ("room_id", "inherit", "entries")
    ROOM_ID_FIELD_NUMBER: _ClassVar[int]
    INHERIT_FIELD_NUMBER: _ClassVar[int]
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    room_id: int
    inherit: bool
    entries: _containers.RepeatedCompositeFieldContainer[AclEntry]
    def __init__(self, room_id: _Optional[int] = ..., inherit: _Optional[bool] = ..., entries: _Optional[_Iterable[_Union[AclEntry, _Mapping]]] = ...) -> None: ...

class SetAcl(_message.Message):
    __slots__ = ("room_id", "inherit", "entries")
    ROOM_ID_FIELD_NUMBER: _ClassVar[int]
    INHERIT_FIELD_NUMBER: _ClassVar[int]
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    room_id: int
    inherit: bool
    entries: _containers.RepeatedCompositeFieldContainer[AclEntry]
    def __init__(self, room_id: _Optional[int] = ..., inherit: _Optional[bool] = ..., entries: _Optional[_Iterable[_Union[AclEntry, _Mapping]]] = ...) -> None: ...

class ListRoles(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class RoleInfo(_message.Message):
    __slots__ = ("name", "builtin", "user_ids")
    NAME_FIELD_NUMBER: _ClassVar[int]
    BUILTIN_FIELD_NUMBER: _ClassVar[int]
    USER_IDS_FIELD_NUMBER: _ClassVar[int]
    name: str
    builtin: bool
    user_ids: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, name: _Optional[str] = ..., builtin: _Optional[bool] = ..., user_ids: _Optional[_Iterable[int]] = ...) -> None: ...

class RoleList(_message.Message):
    __slots__ = ("roles",)
    ROLES_FIELD_NUMBER: _ClassVar[int]
    roles: _containers.RepeatedCompositeFieldContainer[RoleInfo]
    def __init__(self, roles: _Optional[_Iterable[_Union[RoleInfo, _Mapping]]] = ...) -> None: ...

class CreateRole(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class DeleteRole(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class GrantRole(_message.Message):
    __slots__ = ("user_id", "role")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    user_id: int
    role: str
    def __init__(self, user_id: _Optional[int] = ..., role: _Optional[str] = ...) -> None: ...

class RevokeRole(_message.Message):
    __slots__ = ("user_id", "role")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    user_id: int
    role: str
    def __init__(self, user_id: _Optional[int] = ..., role: _Optional[str] = ...) -> None: ...

class KickUser(_message.Message):
    __slots__ = ("user_id", "reason")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    user_id: int
    reason: str
    def __init__(self, user_id: _Optional[int] = ..., reason: _Optional[str] = ...) -> None: ...

class BanUser(_message.Message):
    __slots__ = ("user_id", "public_key", "duration_s", "reason")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    PUBLIC_KEY_FIELD_NUMBER: _ClassVar[int]
    DURATION_S_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    user_id: int
    public_key: bytes
    duration_s: int
    reason: str
    def __init__(self, user_id: _Optional[int] = ..., public_key: _Optional[bytes] = ..., duration_s: _Optional[int] = ..., reason: _Optional[str] = ...) -> None: ...

class Unban(_message.Message):
    __slots__ = ("public_key",)
    PUBLIC_KEY_FIELD_NUMBER: _ClassVar[int]
    public_key: bytes
    def __init__(self, public_key: _Optional[bytes] = ...) -> None: ...

class ListBans(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class BanInfo(_message.Message):
    __slots__ = ("public_key", "user_id", "name", "reason", "until_ms", "created_ms", "by_user_id")
    PUBLIC_KEY_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    UNTIL_MS_FIELD_NUMBER: _ClassVar[int]
    CREATED_MS_FIELD_NUMBER: _ClassVar[int]
    BY_USER_ID_FIELD_NUMBER: _ClassVar[int]
    public_key: bytes
    user_id: int
    name: str
    reason: str
    until_ms: int
    created_ms: int
    by_user_id: int
    def __init__(self, public_key: _Optional[bytes] = ..., user_id: _Optional[int] = ..., name: _Optional[str] = ..., reason: _Optional[str] = ..., until_ms: _Optional[int] = ..., created_ms: _Optional[int] = ..., by_user_id: _Optional[int] = ...) -> None: ...

class BanList(_message.Message):
    __slots__ = ("bans",)
    BANS_FIELD_NUMBER: _ClassVar[int]
    bans: _containers.RepeatedCompositeFieldContainer[BanInfo]
    def __init__(self, bans: _Optional[_Iterable[_Union[BanInfo, _Mapping]]] = ...) -> None: ...

class MoveUser(_message.Message):
    __slots__ = ("user_id", "room_id")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    ROOM_ID_FIELD_NUMBER: _ClassVar[int]
    user_id: int
    room_id: int
    def __init__(self, user_id: _Optional[int] = ..., room_id: _Optional[int] = ...) -> None: ...

class SetServerMute(_message.Message):
    __slots__ = ("user_id", "server_mute", "server_deaf")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    SERVER_MUTE_FIELD_NUMBER: _ClassVar[int]
    SERVER_DEAF_FIELD_NUMBER: _ClassVar[int]
    user_id: int
    server_mute: bool
    server_deaf: bool
    def __init__(self, user_id: _Optional[int] = ..., server_mute: _Optional[bool] = ..., server_deaf: _Optional[bool] = ...) -> None: ...

class RedeemAdminToken(_message.Message):
    __slots__ = ("token",)
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    token: str
    def __init__(self, token: _Optional[str] = ...) -> None: ...

class ListUsers(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class KnownUser(_message.Message):
    __slots__ = ("id", "name", "public_key", "roles", "online", "last_seen_ms")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    PUBLIC_KEY_FIELD_NUMBER: _ClassVar[int]
    ROLES_FIELD_NUMBER: _ClassVar[int]
    ONLINE_FIELD_NUMBER: _ClassVar[int]
    LAST_SEEN_MS_FIELD_NUMBER: _ClassVar[int]
    id: int
    name: str
    public_key: bytes
    roles: _containers.RepeatedScalarFieldContainer[str]
    online: bool
    last_seen_ms: int
    def __init__(self, id: _Optional[int] = ..., name: _Optional[str] = ..., public_key: _Optional[bytes] = ..., roles: _Optional[_Iterable[str]] = ..., online: _Optional[bool] = ..., last_seen_ms: _Optional[int] = ...) -> None: ...

class UserList(_message.Message):
    __slots__ = ("users",)
    USERS_FIELD_NUMBER: _ClassVar[int]
    users: _containers.RepeatedCompositeFieldContainer[KnownUser]
    def __init__(self, users: _Optional[_Iterable[_Union[KnownUser, _Mapping]]] = ...) -> None: ...

class RoomPermissions(_message.Message):
    __slots__ = ("room_id", "allowed")
    ROOM_ID_FIELD_NUMBER: _ClassVar[int]
    ALLOWED_FIELD_NUMBER: _ClassVar[int]
    room_id: int
    allowed: int
    def __init__(self, room_id: _Optional[int] = ..., allowed: _Optional[int] = ...) -> None: ...

class Permissions(_message.Message):
    __slots__ = ("rooms",)
    ROOMS_FIELD_NUMBER: _ClassVar[int]
    rooms: _containers.RepeatedCompositeFieldContainer[RoomPermissions]
    def __init__(self, rooms: _Optional[_Iterable[_Union[RoomPermissions, _Mapping]]] = ...) -> None: ...

class RoomHistory(_message.Message):
    __slots__ = ("room_id", "messages", "files")
    ROOM_ID_FIELD_NUMBER: _ClassVar[int]
    MESSAGES_FIELD_NUMBER: _ClassVar[int]
    FILES_FIELD_NUMBER: _ClassVar[int]
    room_id: int
    messages: _containers.RepeatedCompositeFieldContainer[ChatMessage]
    files: _containers.RepeatedCompositeFieldContainer[SharedFile]
    def __init__(self, room_id: _Optional[int] = ..., messages: _Optional[_Iterable[_Union[ChatMessage, _Mapping]]] = ..., files: _Optional[_Iterable[_Union[SharedFile, _Mapping]]] = ...) -> None: ...

class SharedFile(_message.Message):
    __slots__ = ("info_hash", "info_hash_v1", "name", "size", "room_id", "sharer_id", "sharer_name", "server_time_ms", "server_seeds")
    INFO_HASH_FIELD_NUMBER: _ClassVar[int]
    INFO_HASH_V1_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    ROOM_ID_FIELD_NUMBER: _ClassVar[int]
    SHARER_ID_FIELD_NUMBER: _ClassVar[int]
    SHARER_NAME_FIELD_NUMBER: _ClassVar[int]
    SERVER_TIME_MS_FIELD_NUMBER: _ClassVar[int]
    SERVER_SEEDS_FIELD_NUMBER: _ClassVar[int]
    info_hash: bytes
    info_hash_v1: bytes
    name: str
    size: int
    room_id: int
    sharer_id: int
    sharer_name: str
    server_time_ms: int
    server_seeds: bool
    def __init__(self, info_hash: _Optional[bytes] = ..., info_hash_v1: _Optional[bytes] = ..., name: _Optional[str] = ..., size: _Optional[int] = ..., room_id: _Optional[int] = ..., sharer_id: _Optional[int] = ..., sharer_name: _Optional[str] = ..., server_time_ms: _Optional[int] = ..., server_seeds: _Optional[bool] = ...) -> None: ...

class ShareFile(_message.Message):
    __slots__ = ("torrent",)
    TORRENT_FIELD_NUMBER: _ClassVar[int]
    torrent: bytes
    def __init__(self, torrent: _Optional[bytes] = ...) -> None: ...

class FileShared(_message.Message):
    __slots__ = ("file",)
    FILE_FIELD_NUMBER: _ClassVar[int]
    file: SharedFile
    def __init__(self, file: _Optional[_Union[SharedFile, _Mapping]] = ...) -> None: ...

class Announce(_message.Message):
    __slots__ = ("info_hash", "port", "complete", "stopped")
    INFO_HASH_FIELD_NUMBER: _ClassVar[int]
    PORT_FIELD_NUMBER: _ClassVar[int]
    COMPLETE_FIELD_NUMBER: _ClassVar[int]
    STOPPED_FIELD_NUMBER: _ClassVar[int]
    info_hash: bytes
    port: int
    complete: bool
    stopped: bool
    def __init__(self, info_hash: _Optional[bytes] = ..., port: _Optional[int] = ..., complete: _Optional[bool] = ..., stopped: _Optional[bool] = ...) -> None: ...

class Peer(_message.Message):
    __slots__ = ("user_id", "host", "port")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    HOST_FIELD_NUMBER: _ClassVar[int]
    PORT_FIELD_NUMBER: _ClassVar[int]
    user_id: int
    host: str
    port: int
    def __init__(self, user_id: _Optional[int] = ..., host: _Optional[str] = ..., port: _Optional[int] = ...) -> None: ...

class PeerList(_message.Message):
    __slots__ = ("info_hash", "torrent", "peers", "interval_s")
    INFO_HASH_FIELD_NUMBER: _ClassVar[int]
    TORRENT_FIELD_NUMBER: _ClassVar[int]
    PEERS_FIELD_NUMBER: _ClassVar[int]
    INTERVAL_S_FIELD_NUMBER: _ClassVar[int]
    info_hash: bytes
    torrent: bytes
    peers: _containers.RepeatedCompositeFieldContainer[Peer]
    interval_s: int
    def __init__(self, info_hash: _Optional[bytes] = ..., torrent: _Optional[bytes] = ..., peers: _Optional[_Iterable[_Union[Peer, _Mapping]]] = ..., interval_s: _Optional[int] = ...) -> None: ...

class VoiceDatagram(_message.Message):
    __slots__ = ("sender_id", "room_id", "sequence", "opus", "end_of_transmission", "capture_time_us", "redundant_opus", "older_redundant_opus")
    SENDER_ID_FIELD_NUMBER: _ClassVar[int]
    ROOM_ID_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    OPUS_FIELD_NUMBER: _ClassVar[int]
    END_OF_TRANSMISSION_FIELD_NUMBER: _ClassVar[int]
    CAPTURE_TIME_US_FIELD_NUMBER: _ClassVar[int]
    REDUNDANT_OPUS_FIELD_NUMBER: _ClassVar[int]
    OLDER_REDUNDANT_OPUS_FIELD_NUMBER: _ClassVar[int]
    sender_id: int
    room_id: int
    sequence: int
    opus: bytes
    end_of_transmission: bool
    capture_time_us: int
    redundant_opus: bytes
    older_redundant_opus: _containers.RepeatedScalarFieldContainer[bytes]
    def __init__(self, sender_id: _Optional[int] = ..., room_id: _Optional[int] = ..., sequence: _Optional[int] = ..., opus: _Optional[bytes] = ..., end_of_transmission: _Optional[bool] = ..., capture_time_us: _Optional[int] = ..., redundant_opus: _Optional[bytes] = ..., older_redundant_opus: _Optional[_Iterable[bytes]] = ...) -> None: ...

class LossReport(_message.Message):
    __slots__ = ("talkers",)
    TALKERS_FIELD_NUMBER: _ClassVar[int]
    talkers: _containers.RepeatedCompositeFieldContainer[TalkerLoss]
    def __init__(self, talkers: _Optional[_Iterable[_Union[TalkerLoss, _Mapping]]] = ...) -> None: ...

class TalkerLoss(_message.Message):
    __slots__ = ("talker_id", "frames", "lost")
    TALKER_ID_FIELD_NUMBER: _ClassVar[int]
    FRAMES_FIELD_NUMBER: _ClassVar[int]
    LOST_FIELD_NUMBER: _ClassVar[int]
    talker_id: int
    frames: int
    lost: int
    def __init__(self, talker_id: _Optional[int] = ..., frames: _Optional[int] = ..., lost: _Optional[int] = ...) -> None: ...

class LossFeedback(_message.Message):
    __slots__ = ("reporter_id", "frames", "lost")
    REPORTER_ID_FIELD_NUMBER: _ClassVar[int]
    FRAMES_FIELD_NUMBER: _ClassVar[int]
    LOST_FIELD_NUMBER: _ClassVar[int]
    reporter_id: int
    frames: int
    lost: int
    def __init__(self, reporter_id: _Optional[int] = ..., frames: _Optional[int] = ..., lost: _Optional[int] = ...) -> None: ...

class StoredUser(_message.Message):
    __slots__ = ("id", "public_key", "name", "roles", "created_ms", "last_seen_ms")
    ID_FIELD_NUMBER: _ClassVar[int]
    PUBLIC_KEY_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    ROLES_FIELD_NUMBER: _ClassVar[int]
    CREATED_MS_FIELD_NUMBER: _ClassVar[int]
    LAST_SEEN_MS_FIELD_NUMBER: _ClassVar[int]
    id: int
    public_key: bytes
    name: str
    roles: _containers.RepeatedScalarFieldContainer[str]
    created_ms: int
    last_seen_ms: int
    def __init__(self, id: _Optional[int] = ..., public_key: _Optional[bytes] = ..., name: _Optional[str] = ..., roles: _Optional[_Iterable[str]] = ..., created_ms: _Optional[int] = ..., last_seen_ms: _Optional[int] = ...) -> None: ...

class StoredRoom(_message.Message):
    __slots__ = ("room",)
    ROOM_FIELD_NUMBER: _ClassVar[int]
    room: RoomInfo
    def __init__(self, room: _Optional[_Union[RoomInfo, _Mapping]] = ...) -> None: ...

class StoredAcl(_message.Message):
    __slots__ = ("room_id", "inherit", "entries")
    ROOM_ID_FIELD_NUMBER: _ClassVar[int]
    INHERIT_FIELD_NUMBER: _ClassVar[int]
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    room_id: int
    inherit: bool
    entries: _containers.RepeatedCompositeFieldContainer[AclEntry]
    def __init__(self, room_id: _Optional[int] = ..., inherit: _Optional[bool] = ..., entries: _Optional[_Iterable[_Union[AclEntry, _Mapping]]] = ...) -> None: ...

class StoredRole(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class StoredShare(_message.Message):
    __slots__ = ("file", "torrent")
    FILE_FIELD_NUMBER: _ClassVar[int]
    TORRENT_FIELD_NUMBER: _ClassVar[int]
    file: SharedFile
    torrent: bytes
    def __init__(self, file: _Optional[_Union[SharedFile, _Mapping]] = ..., torrent: _Optional[bytes] = ...) -> None: ...

class StoredChat(_message.Message):
    __slots__ = ("message",)
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    message: ChatMessage
    def __init__(self, message: _Optional[_Union[ChatMessage, _Mapping]] = ...) -> None: ...

class StoredBan(_message.Message):
    __slots__ = ("public_key", "reason", "until_ms", "created_ms", "by_user_id", "name", "user_id")
    PUBLIC_KEY_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    UNTIL_MS_FIELD_NUMBER: _ClassVar[int]
    CREATED_MS_FIELD_NUMBER: _ClassVar[int]
    BY_USER_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    public_key: bytes
    reason: str
    until_ms: int
    created_ms: int
    by_user_id: int
    name: str
    user_id: int
    def __init__(self, public_key: _Optional[bytes] = ..., reason: _Optional[str] = ..., until_ms: _Optional[int] = ..., created_ms: _Optional[int] = ..., by_user_id: _Optional[int] = ..., name: _Optional[str] = ..., user_id: _Optional[int] = ...) -> None: ...
