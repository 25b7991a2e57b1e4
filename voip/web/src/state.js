// The shared server state (rooms and users), the updates that change it and
// its BLAKE3 state hash (docs/PROTOCOL.md, "State", "State hash"), and the
// user's effective permissions per room. Values are replaced, never mutated,
// so the UI can compare snapshots.

import { create, toBinary } from "@bufbuild/protobuf";
import { blake3 } from "@noble/hashes/blake3.js";
import { RoomInfoSchema, ServerStateSchema, UserSchema } from "./gen/voip_pb.js";

export class Divergence extends Error {}

function userOf(u) {
  return {
    id: u.id, name: u.name, roomId: u.roomId,
    selfMute: u.selfMute || u.selfDeaf, selfDeaf: u.selfDeaf,
    serverMute: u.serverMute, serverDeaf: u.serverDeaf, roles: [...u.roles].sort(),
  };
}

export function fromServerState(msg) {
  const rooms = new Map();
  const users = new Map();
  for (const r of msg.rooms) rooms.set(r.id, { id: r.id, name: r.name, parentId: r.parentId });
  for (const u of msg.users) users.set(u.id, userOf(u));
  return { rooms, users };
}

export function stateHash(state) {
  const rooms = [...state.rooms.values()].sort((a, b) => a.id - b.id)
    .map((r) => create(RoomInfoSchema, { id: r.id, name: r.name, parentId: r.parentId }));
  const users = [...state.users.values()].sort((a, b) => a.id - b.id)
    .map((u) => create(UserSchema, {
      id: u.id, name: u.name, roomId: u.roomId, selfMute: u.selfMute, selfDeaf: u.selfDeaf,
      serverMute: u.serverMute, serverDeaf: u.serverDeaf, roles: [...u.roles].sort(),
    }));
  return blake3(toBinary(ServerStateSchema, create(ServerStateSchema, { rooms, users })));
}

export function sameBytes(a, b) {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

// Apply one StateUpdate; throws Divergence when it does not fit the state.
export function applyChange(state, update) {
  const rooms = new Map(state.rooms);
  const users = new Map(state.users);
  const c = update.change;
  const need = (ok, what) => { if (!ok) throw new Divergence(what); };
  switch (c.case) {
    case "userJoined": {
      const u = c.value.user;
      need(u && rooms.has(u.roomId), "user joined an unknown room");
      users.set(u.id, userOf(u));
      break;
    }
    case "userLeft":
      need(users.has(c.value.userId), "unknown user left");
      users.delete(c.value.userId);
      break;
    case "userMoved": {
      const u = users.get(c.value.userId);
      need(u && rooms.has(c.value.roomId), "unknown user or room in a move");
      users.set(u.id, { ...u, roomId: c.value.roomId });
      break;
    }
    case "userRenamed": {
      const u = users.get(c.value.userId);
      need(u, "unknown user renamed");
      users.set(u.id, { ...u, name: c.value.name });
      break;
    }
    case "roomCreated": {
      const r = c.value.room;
      need(r && r.parentId !== 0 && rooms.has(r.parentId) && !rooms.has(r.id), "bad new room");
      rooms.set(r.id, { id: r.id, name: r.name, parentId: r.parentId });
      break;
    }
    case "roomDeleted": {
      const gone = rooms.get(c.value.roomId);
      need(gone && gone.parentId !== 0, "unknown or root room deleted");
      rooms.delete(gone.id);
      for (const [id, r] of rooms) if (r.parentId === gone.id) rooms.set(id, { ...r, parentId: gone.parentId });
      for (const [id, u] of users) if (u.roomId === gone.id) users.set(id, { ...u, roomId: gone.parentId });
      break;
    }
    case "roomRenamed": {
      const r = rooms.get(c.value.roomId);
      need(r, "unknown room renamed");
      rooms.set(r.id, { ...r, name: c.value.name });
      break;
    }
    case "userServerMuted": {
      const u = users.get(c.value.userId);
      need(u, "unknown user server-muted");
      users.set(u.id, { ...u, serverMute: c.value.serverMute, serverDeaf: c.value.serverDeaf });
      break;
    }
    case "userSelfMuted": {
      const u = users.get(c.value.userId);
      need(u, "unknown user self-muted");
      const selfDeaf = c.value.selfDeaf;
      users.set(u.id, { ...u, selfMute: c.value.selfMute || selfDeaf, selfDeaf });
      break;
    }
    case "userRolesChanged": {
      const u = users.get(c.value.userId);
      need(u, "unknown user's roles changed");
      users.set(u.id, { ...u, roles: [...c.value.roles].sort() });
      break;
    }
    default:
      throw new Divergence(`unknown state change ${c.case}`);
  }
  return { rooms, users };
}

// Permission bits (voip.proto `Permission`); ADMIN implies every other bit.
export const Perm = { ENTER: 1, SPEAK: 2, TEXT: 4, MAKE_ROOM: 8, WRITE: 16, ADMIN: 1024 };

export function mergePermissions(previous, msg) {
  const next = new Map(previous);
  for (const r of msg.rooms) next.set(r.roomId, r.allowed);
  return next;
}

// Unknown (not yet told): allowed, the server decides and says why not.
export function may(permissions, roomId, bit) {
  const allowed = permissions.get(roomId);
  if (allowed === undefined) return true;
  return (allowed & bit) !== 0 || (allowed & Perm.ADMIN) !== 0;
}
