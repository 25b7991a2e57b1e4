// The page: the join form, the room tree, chat and the talk controls. It only
// renders what the Session and Audio report and turns clicks and keys into
// their calls. `window.voip` exposes them to tests and the console.

import { Audio, MODES } from "./audio.js";
import { loadOrCreateIdentity } from "./identity.js";
import { Session, base64urlDecode, errorName } from "./session.js";
import { Perm, may } from "./state.js";

const $ = (id) => document.getElementById(id);
const ui = { talking: new Set(), state: null, selfId: 0, session: null, audio: null };
window.voip = ui;

// --- the link ---------------------------------------------------------------------

function linkParams() {
  const p = new URLSearchParams(location.hash.slice(1));
  return {
    server: p.get("server") || "",
    certHashes: p.getAll("cert").map(base64urlDecode),
    room: p.get("room") || "",
    name: p.get("name") || "",
  };
}

// A page served by the voip server itself can ask it where to connect.
async function servedParams() {
  try {
    const r = await fetch("voip-web.json", { cache: "no-store" });
    if (!r.ok) return null;
    const info = await r.json();
    return { server: info.server, certHashes: (info.cert || []).map(base64urlDecode) };
  } catch (e) {
    return null;
  }
}

function notice(text, kind = "error") {
  const n = $("notice");
  n.textContent = text;
  n.className = `notice ${kind === "error" ? "" : "info"}`;
  n.hidden = !text;
}

function status(text) { $("status").textContent = text; }

// --- rendering ----------------------------------------------------------------------

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") e.className = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c);
  return e;
}

function inCurrentRoom(roomId) {
  const me = ui.state && ui.state.users.get(ui.selfId);
  return !me || me.roomId === roomId;
}

function render() {
  const { state, selfId } = ui;
  if (!state) return;
  const me = state.users.get(selfId);
  // Chat is per room: entering another one starts its log afresh (the server
  // sends that room's recent lines).
  if (me && ui.chatRoom !== me.roomId) {
    if (ui.chatRoom !== undefined) $("chat-log").replaceChildren();
    ui.chatRoom = me.roomId;
  }
  const children = new Map();
  for (const r of state.rooms.values()) {
    if (!children.has(r.parentId)) children.set(r.parentId, []);
    children.get(r.parentId).push(r);
  }
  const byName = (a, b) => a.name.localeCompare(b.name) || a.id - b.id;
  const roomNode = (room) => {
    const users = [...state.users.values()].filter((u) => u.roomId === room.id).sort(byName);
    const perms = ui.session ? ui.session.permissions : new Map();
    const enter = may(perms, room.id, Perm.ENTER);
    const li = el("li", { class: `room${me && me.roomId === room.id ? " current" : ""}`, "data-room": room.id },
      el("button", {
        class: `room-name${enter ? "" : " locked"}`, type: "button",
        title: enter ? `Join ${room.name}` : `You may not enter ${room.name}`, onclick: () => joinRoom(room.id),
      }, room.name));
    const list = el("ul");
    for (const u of users) {
      const cls = `user${ui.talking.has(u.id) ? " talking" : ""}${u.id === selfId ? " self" : ""}`;
      const flags = [
        u.serverDeaf ? "deafened by a moderator" : u.serverMute ? "muted by a moderator" : "",
        u.selfDeaf ? "deafened" : u.selfMute ? "muted" : "",
        ...u.roles,
      ].filter(Boolean);
      const item = el("li", { class: cls, "data-user": u.id }, el("span", { class: "dot" }), u.name);
      if (flags.length) item.append(el("span", { class: "flags" }, flags.join(" · ")));
      list.append(item);
    }
    for (const sub of (children.get(room.id) || []).sort(byName)) list.append(roomNode(sub));
    li.append(list);
    return li;
  };
  const tree = $("tree");
  tree.replaceChildren(...(children.get(0) || []).map(roomNode));
  $("chat-room").textContent = me ? `· ${state.rooms.get(me.roomId)?.name ?? ""}` : "";
  // What the user may do here: the server enforces it, the page only says so.
  const perms = ui.session ? ui.session.permissions : new Map();
  const text = !me || may(perms, me.roomId, Perm.TEXT);
  $("chat-input").disabled = !text;
  $("chat-input").placeholder = text ? "Message" : "You may not write in this room";
  const speak = !me || (may(perms, me.roomId, Perm.SPEAK) && !me.serverMute && !me.serverDeaf);
  $("ptt").disabled = !speak;
  $("ptt").textContent = speak ? "Hold to talk" : me && (me.serverMute || me.serverDeaf) ? "Muted by a moderator" : "You may not speak here";
}

function chatLine(who, text, cls = "") {
  const log = $("chat-log");
  const li = el("li", { class: cls });
  if (who) li.append(el("span", { class: "who" }, who));
  li.append(text);
  log.append(li);
  log.scrollTop = log.scrollHeight;
}

// --- actions ------------------------------------------------------------------------

async function joinRoom(roomId) {
  const me = ui.state && ui.state.users.get(ui.selfId);
  if (!ui.session || (me && me.roomId === roomId)) return;
  try {
    await ui.session.joinRoom(roomId);
    notice("");
  } catch (e) {
    notice(e.message);
  }
}

async function connect(params, name, password) {
  notice("");
  status("connecting…");
  $("connect").disabled = true;
  let identity;
  try {
    identity = await loadOrCreateIdentity();
  } catch (e) {
    notice(e.message);
    status("not connected");
    $("connect").disabled = false;
    return;
  }
  // With two pinned certificates the first try may sign for the wrong one
  // (after the server renewed); then the second binding is tried.
  for (let binding = 0; ; binding++) {
    const session = new Session({
      server: params.server, certHashes: params.certHashes, identity, name, password,
      on: {
        state: (state, selfId) => { ui.state = state; ui.selfId = selfId; forgetGone(); render(); },
        chat: (m) => { if (inCurrentRoom(m.roomId)) chatLine(m.senderName, m.text); },
        history: (h) => {
          if (!inCurrentRoom(h.roomId) || !h.messages.length) return;
          chatLine("", "earlier in this room", "sys");
          for (const m of h.messages) chatLine(m.senderName, m.text, "old");
        },
        notice: (text, kind) => notice(text, kind),
        closed: (text) => disconnected(session, text),
        voice: (m) => ui.audio && ui.audio.voice(m),
      },
    });
    session.binding = binding;
    ui.session = session;
    try {
      const welcome = await session.connect();
      welcomed(session, welcome, params);
      return;
    } catch (e) {
      session.close();
      const retry = e.code === 4 /* BAD_SIGNATURE */ && binding + 1 < params.certHashes.length;
      if (retry) continue;
      ui.session = null;
      notice(e.code ? `${e.message} (${errorName(e.code)})` : e.message);
      status("not connected");
      $("connect").disabled = false;
      return;
    }
  }
}

async function welcomed(session, welcome, params) {
  $("join-form").hidden = true;
  $("app").hidden = false;
  $("server-name").textContent = welcome.serverName;
  status(`connected as ${session.name}`);
  if (welcome.motd) chatLine("", welcome.motd, "sys");
  $("chat-input").maxLength = welcome.maxChatLength || 5000;
  localStorage.setItem("voip-name", session.name);
  ui.audio = new Audio({
    send: (fields) => session.sendVoice(fields),
    onLevel: (db, on) => { $("level").value = Math.max(-60, db); $("level").classList.toggle("on", on); },
    onTalking: (id, talking) => { talking ? ui.talking.add(id) : ui.talking.delete(id); render(); },
  });
  ui.audio.setMode($("mode").value);
  try {
    await ui.audio.start();
    if (ui.audio.micError) notice(ui.audio.micError, "info");
  } catch (e) {
    notice(`audio could not start: ${e.message}`);
  }
  if (params.room) {
    const wanted = [...session.state.rooms.values()].find((r) => r.name === params.room || String(r.id) === params.room);
    if (wanted) joinRoom(wanted.id);
    else notice(`there is no room called ${params.room} on this server`, "info");
  }
}

function forgetGone() {
  if (!ui.audio || !ui.state) return;
  for (const id of ui.audio.decoders.keys()) if (!ui.state.users.has(id)) ui.audio.forget(id);
}

function disconnected(session, text) {
  if (ui.session !== session) return;
  ui.session = null;
  if (ui.audio) { ui.audio.stop(); ui.audio = null; }
  ui.state = null;
  ui.chatRoom = undefined;
  ui.talking.clear();
  $("app").hidden = true;
  $("join-form").hidden = false;
  $("connect").disabled = false;
  status("not connected");
  if (text !== "you left") notice(text);
}

// --- talk controls -------------------------------------------------------------------

function setPtt(held) {
  $("ptt").classList.toggle("held", held);
  if (ui.audio) ui.audio.setPtt(held);
}

function typing(target) {
  return target && (target.tagName === "INPUT" || target.tagName === "TEXTAREA" || target.tagName === "SELECT");
}

function wire() {
  const params = linkParams();
  $("server").value = params.server;
  $("name").value = params.name || localStorage.getItem("voip-name") || "";
  $("join-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const p = { ...params, server: $("server").value.trim() };
    if (p.server !== params.server) p.certHashes = [];
    if (!p.server || (!params.server && !p.certHashes.length)) {
      const served = await servedParams();
      if (served && (!p.server || p.server === served.server)) Object.assign(p, served);
    }
    connect(p, $("name").value.trim(), $("password").value);
  });
  if (!params.server) servedParams().then((s) => { if (s && !$("server").value) $("server").value = s.server; });
  $("chat-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const text = $("chat-input").value;
    if (!text.trim() || !ui.session) return;
    try {
      await ui.session.sendChat(text);
      $("chat-input").value = "";
    } catch (err) {
      notice(err.message);
    }
  });
  const mode = $("mode");
  mode.value = localStorage.getItem("voip-mode") || "voice_activated";
  if (!MODES.includes(mode.value)) mode.value = "voice_activated";
  const showPtt = () => { $("ptt").hidden = mode.value !== "push_to_talk"; };
  showPtt();
  mode.addEventListener("change", () => {
    localStorage.setItem("voip-mode", mode.value);
    showPtt();
    if (ui.audio) ui.audio.setMode(mode.value);
  });
  const ptt = $("ptt");
  ptt.addEventListener("pointerdown", (e) => { ptt.setPointerCapture(e.pointerId); setPtt(true); });
  for (const ev of ["pointerup", "pointercancel", "lostpointercapture"]) ptt.addEventListener(ev, () => setPtt(false));
  document.addEventListener("keydown", (e) => {
    if (e.code === "Space" && !e.repeat && !typing(e.target) && mode.value === "push_to_talk") { e.preventDefault(); setPtt(true); }
  });
  document.addEventListener("keyup", (e) => { if (e.code === "Space" && !typing(e.target)) setPtt(false); });
  window.addEventListener("blur", () => setPtt(false));
  const toggle = (id, apply) => {
    const b = $(id);
    b.addEventListener("click", () => {
      const on = b.getAttribute("aria-pressed") !== "true";
      b.setAttribute("aria-pressed", String(on));
      apply(on);
    });
  };
  // Tell the server too, so everyone sees it (docs/PROTOCOL.md, SetSelfMute).
  const pressed = (id) => $(id).getAttribute("aria-pressed") === "true";
  const tellServer = () => ui.session && ui.session.setSelfMute(pressed("mute"), pressed("deafen"))
    .catch((err) => notice(err.message));
  toggle("mute", (on) => { if (ui.audio) ui.audio.setMuted(on); tellServer(); });
  toggle("deafen", (on) => {
    if (ui.audio) ui.audio.setDeaf(on);
    if (on && !pressed("mute")) $("mute").click();
    else tellServer();
  });
  $("leave").addEventListener("click", () => ui.session && ui.session.close());
}

wire();
