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

class Permission(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PERMISSION_NONE: _ClassVar[Permission]
    ENTER: _ClassVar[Permission]
    SPEAK: _ClassVar[Permission]
    TEXT: _ClassVar[Permission]
    MAKE_ROOM: _ClassVar[Permission]
    WRITE: _ClassVar[Permission]
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
PERMISSION_NONE: Permission
ENTER: Permission
SPEAK: Permission
TEXT: Permission
MAKE_ROOM: Permission
WRITE: Permission

class Envelope(_message.Message):
    __slots__ = ("state_hash", "request_id", "challenge", "client_hello", "welcome", "server_state", "state_update", "join_room", "create_room", "delete_room", "rename_room", "send_chat", "resync_request", "set_display_name", "chat_message", "error", "ack", "goodbye")
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
    def __init__(self, state_hash: _Optional[bytes] = ..., request_id: _Optional[int] = ..., challenge: _Optional[_Union[Challenge, _Mapping]] = ..., client_hello: _Optional[_Union[ClientHello, _Mapping]] = ..., welcome: _Optional[_Union[Welcome, _Mapping]] = ..., server_state: _Optional[_Union[ServerState, _Mapping]] = ..., state_update: _Optional[_Union[StateUpdate, _Mapping]] = ..., join_room: _Optional[_Union[JoinRoom, _Mapping]] = ..., create_room: _Optional[_Union[CreateRoom, _Mapping]] = ..., delete_room: _Optional[_Union[DeleteRoom, _Mapping]] = ..., rename_room: _Optional[_Union[RenameRoom, _Mapping]] = ..., send_chat: _Optional[_Union[SendChat, _Mapping]] = ..., resync_request: _Optional[_Union[ResyncRequest, _Mapping]] = ..., set_display_name: _Optional[_Union[SetDisplayName, _Mapping]] = ..., chat_message: _Optional[_Union[ChatMessage, _Mapping]] = ..., error: _Optional[_Union[Error, _Mapping]] = ..., ack: _Optional[_Union[Ack, _Mapping]] = ..., goodbye: _Optional[_Union[Goodbye, _Mapping]] = ...) -> None: ...

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
    __slots__ = ("user_id", "server_name", "root_room_id", "max_chat_length", "max_datagram_size", "motd")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    SERVER_NAME_FIELD_NUMBER: _ClassVar[int]
    ROOT_ROOM_ID_FIELD_NUMBER: _ClassVar[int]
    MAX_CHAT_LENGTH_FIELD_NUMBER: _ClassVar[int]
    MAX_DATAGRAM_SIZE_FIELD_NUMBER: _ClassVar[int]
    MOTD_FIELD_NUMBER: _ClassVar[int]
    user_id: int
    server_name: str
    root_room_id: int
    max_chat_length: int
    max_datagram_size: int
    motd: str
    def __init__(self, user_id: _Optional[int] = ..., server_name: _Optional[str] = ..., root_room_id: _Optional[int] = ..., max_chat_length: _Optional[int] = ..., max_datagram_size: _Optional[int] = ..., motd: _Optional[str] = ...) -> None: ...

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
    __slots__ = ("id", "name", "room_id")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    ROOM_ID_FIELD_NUMBER: _ClassVar[int]
    id: int
    name: str
    room_id: int
    def __init__(self, id: _Optional[int] = ..., name: _Optional[str] = ..., room_id: _Optional[int] = ...) -> None: ...

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

class StateUpdate(_message.Message):
    __slots__ = ("user_joined", "user_left", "user_moved", "room_created", "room_deleted", "room_renamed", "user_renamed")
    USER_JOINED_FIELD_NUMBER: _ClassVar[int]
    USER_LEFT_FIELD_NUMBER: _ClassVar[int]
    USER_MOVED_FIELD_NUMBER: _ClassVar[int]
    ROOM_CREATED_FIELD_NUMBER: _ClassVar[int]
    ROOM_DELETED_FIELD_NUMBER: _ClassVar[int]
    ROOM_RENAMED_FIELD_NUMBER: _ClassVar[int]
    USER_RENAMED_FIELD_NUMBER: _ClassVar[int]
    user_joined: UserJoined
    user_left: UserLeft
    user_moved: UserMoved
    room_created: RoomCreated
    room_deleted: RoomDeleted
    room_renamed: RoomRenamed
    user_renamed: UserRenamed
    def __init__(self, user_joined: _Optional[_Union[UserJoined, _Mapping]] = ..., user_left: _Optional[_Union[UserLeft, _Mapping]] = ..., user_moved: _Optional[_Union[UserMoved, _Mapping]] = ..., room_created: _Optional[_Union[RoomCreated, _Mapping]] = ..., room_deleted: _Optional[_Union[RoomDeleted, _Mapping]] = ..., room_renamed: _Optional[_Union[RoomRenamed, _Mapping]] = ..., user_renamed: _Optional[_Union[UserRenamed, _Mapping]] = ...) -> None: ...

class JoinRoom(_message.Message):
    __slots__ = ("room_id",)
    ROOM_ID_FIELD_NUMBER: _ClassVar[int]
    room_id: int
    def __init__(self, room_id: _Optional[int] = ...) -> None: ...

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
    __slots__ = ("code", "message")
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    code: ErrorCode
    message: str
    def __init__(self, code: _Optional[_Union[ErrorCode, str]] = ..., message: _Optional[str] = ...) -> None: ...

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

class VoiceDatagram(_message.Message):
    __slots__ = ("sender_id", "room_id", "sequence", "opus", "end_of_transmission", "capture_time_us", "redundant_opus")
    SENDER_ID_FIELD_NUMBER: _ClassVar[int]
    ROOM_ID_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    OPUS_FIELD_NUMBER: _ClassVar[int]
    END_OF_TRANSMISSION_FIELD_NUMBER: _ClassVar[int]
    CAPTURE_TIME_US_FIELD_NUMBER: _ClassVar[int]
    REDUNDANT_OPUS_FIELD_NUMBER: _ClassVar[int]
    sender_id: int
    room_id: int
    sequence: int
    opus: bytes
    end_of_transmission: bool
    capture_time_us: int
    redundant_opus: bytes
    def __init__(self, sender_id: _Optional[int] = ..., room_id: _Optional[int] = ..., sequence: _Optional[int] = ..., opus: _Optional[bytes] = ..., end_of_transmission: _Optional[bool] = ..., capture_time_us: _Optional[int] = ..., redundant_opus: _Optional[bytes] = ...) -> None: ...

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

class StoredAcl(_message.Message):
    __slots__ = ("room_id", "inherit", "entries")
    ROOM_ID_FIELD_NUMBER: _ClassVar[int]
    INHERIT_FIELD_NUMBER: _ClassVar[int]
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    room_id: int
    inherit: bool
    entries: _containers.RepeatedCompositeFieldContainer[AclEntry]
    def __init__(self, room_id: _Optional[int] = ..., inherit: _Optional[bool] = ..., entries: _Optional[_Iterable[_Union[AclEntry, _Mapping]]] = ...) -> None: ...
