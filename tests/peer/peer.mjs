// A Matrix user played by matrix-js-sdk, driven by Doorman's C# tests (tests/Doorman.Tests/Peers/JsPeer.cs).
//
// Protocol: one JSON command per line on stdin, {"id": 7, "cmd": "send", ...arguments}; one JSON line per
// command on stdout, {"id": 7, "ok": true, "result": {...}} or {"id": 7, "ok": false, "error": "...",
// "errcode": "M_FORBIDDEN", "status": 403}. Commands run concurrently and answer in the order they finish, so
// a `waitFor...` can be pending while others run; match answers by id. stdout carries nothing else: every log
// line (ours and the SDK's) goes to stderr. The process ends after `stop`, or when stdin closes.
//
// The point of this peer is an independent client implementation: room state, memberships and messages are
// read from the SDK's own sync (startClient, the Room and RoomMember models, its events), never from raw HTTP.

import { createDecipheriv, createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";

// matrix-js-sdk 43 targets Node >= 22 and calls Promise.withResolvers (Node 22+) in its send queue, uploads,
// setAccountData and sync's reconnection. Node 20 lacks it, so it is defined before the SDK is loaded.
if (typeof Promise.withResolvers !== "function") {
  Promise.withResolvers = function withResolvers() {
    let resolve;
    let reject;
    const promise = new this((res, rej) => {
      resolve = res;
      reject = rej;
    });
    return { promise, resolve, reject };
  };
}

// The SDK logs through loglevel, which writes with console.log/info/debug: keep stdout for the protocol.
for (const method of ["log", "info", "debug", "warn", "trace"]) {
  console[method] = (...args) => console.error(...args);
}

const sdk = await import("matrix-js-sdk");
const { ClientEvent, RoomEvent, RoomMemberEvent, MatrixEventEvent, EventType, Preset, Visibility, SyncState } = sdk;
const sdkVersion = JSON.parse(readFileSync(new URL("node_modules/matrix-js-sdk/package.json", import.meta.url), "utf8")).version;

/**
 * The client's logger: the SDK's own sets every child logger to debug, which buries a failure in sync chatter.
 * DOORMAN_PEER_LOG=debug brings the chatter back.
 */
function stderrLogger(prefix, level) {
  const ranks = { trace: 0, debug: 1, info: 2, warn: 3, error: 4 };
  const min = ranks[level] ?? ranks.warn;
  const method = (name) => (...args) => {
    if (ranks[name] >= min) console.error(`[${name}] ${prefix}`, ...args);
  };
  return {
    trace: method("trace"), debug: method("debug"), info: method("info"), warn: method("warn"), error: method("error"), log: method("debug"),
    getChild: (child) => stderrLogger(prefix + child, level),
  };
}
const sdkLogger = stderrLogger("", process.env.DOORMAN_PEER_LOG ?? "warn");

let client = null;
let accessToken = null;
let txnCounter = 0;
/** Every m.room.message the SDK has delivered since login, per room: a limited sync may reset the live timeline. */
const received = new Map();

/** An error the C# side sees as {error, errcode, status}. */
class PeerError extends Error {
  constructor(message, errcode = "PEER_ERROR", status = undefined) {
    super(message);
    this.errcode = errcode;
    this.status = status;
  }
}

function write(line) {
  process.stdout.write(JSON.stringify(line) + "\n");
}

function need(args, name) {
  const value = args[name];
  if (value === undefined || value === null || value === "") throw new PeerError(`missing argument '${name}'`, "PEER_BAD_COMMAND");
  return value;
}

function loggedIn() {
  if (!client) throw new PeerError("not logged in: send 'login' first", "PEER_NOT_LOGGED_IN");
  return client;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Waits out 429s as a well-behaved client does (Synapse's rc_message also limits createRoom, joins, invites and
 * kicks, which the SDK does not retry): retry_after_ms from the body, else Retry-After, else a second.
 */
async function politely(call) {
  for (let attempt = 0; ; attempt++) {
    try {
      return await call();
    } catch (e) {
      if (e?.errcode !== "M_LIMIT_EXCEEDED" || attempt >= 30) throw e;
      const header = Number(e.httpHeaders?.get?.("retry-after"));
      const wait = e.data?.retry_after_ms ?? (Number.isFinite(header) && header > 0 ? header * 1000 : 1000);
      console.error(`peer: rate-limited, retrying in ${wait} ms`);
      await sleep(wait);
    }
  }
}

/**
 * Resolves with check()'s first non-undefined value, evaluated now and after every sync batch and timeline or
 * membership event the SDK emits; rejects after timeoutMs with describe()'s account of what it saw instead.
 */
function waitUntil(check, timeoutMs, describe) {
  const c = loggedIn();
  return new Promise((resolve, reject) => {
    const events = [ClientEvent.Sync, ClientEvent.Room, RoomEvent.Timeline, RoomEvent.MyMembership, RoomMemberEvent.Membership, MatrixEventEvent.Decrypted];
    let timer = null;
    const done = () => {
      clearTimeout(timer);
      for (const name of events) c.off(name, evaluate);
    };
    function evaluate() {
      let value;
      try {
        value = check();
      } catch (e) {
        done();
        reject(e);
        return;
      }
      if (value !== undefined) {
        done();
        resolve(value);
      }
    }
    for (const name of events) c.on(name, evaluate);
    timer = setTimeout(() => {
      done();
      reject(new PeerError(`timed out after ${timeoutMs} ms waiting for ${describe()}`, "PEER_TIMEOUT"));
    }, timeoutMs);
    evaluate();
  });
}

function eventJson(ev) {
  return {
    event_id: ev.getId(),
    type: ev.getType(),
    sender: ev.getSender(),
    state_key: ev.getStateKey(),
    origin_server_ts: ev.getTs(),
    content: ev.getContent(),
    // Sent as m.room.encrypted and decrypted by the SDK (content is then the cleartext's).
    encrypted: ev.isEncrypted(),
  };
}

/** The event a reply answers (m.in_reply_to), from the decrypted content or, in an encrypted room, the wire content. */
function repliesTo(ev) {
  const relation = (content) => content?.["m.relates_to"]?.["m.in_reply_to"]?.event_id;
  return relation(ev.getContent()) ?? relation(ev.getWireContent()) ?? null;
}

/** Events the server has acknowledged: local echoes of our own sends have no $-id yet. */
function isRemote(ev) {
  return ev.status === null && (ev.getId() ?? "").startsWith("$");
}

async function download(mxc, withData = false) {
  const c = loggedIn();
  // mxcUrlToHttp(mxc, width, height, resizeMethod, allowDirectLinks, allowRedirects, useAuthentication):
  // the SDK builds the CS API v1.11 authenticated URL; the token goes in the header, as clients send it.
  const url = c.mxcUrlToHttp(mxc, undefined, undefined, undefined, false, true, true);
  if (!url) throw new PeerError(`not an mxc URI: ${mxc}`, "PEER_BAD_COMMAND");
  const response = await fetch(url, { headers: { Authorization: `Bearer ${accessToken}` } });
  const bytes = Buffer.from(await response.arrayBuffer());
  if (!response.ok) {
    let body = {};
    try {
      body = JSON.parse(bytes.toString("utf8"));
    } catch {
      body = { error: bytes.toString("utf8") };
    }
    throw new PeerError(`download ${new URL(url).pathname} answered ${response.status}: ${body.error ?? ""}`, body.errcode ?? "PEER_HTTP", response.status);
  }
  return {
    url: new URL(url).pathname,
    sha256: createHash("sha256").update(bytes).digest("hex"),
    length: bytes.length,
    content_type: response.headers.get("content-type"),
    ...(withData ? { base64: bytes.toString("base64") } : {}),
  };
}

const commands = {
  /** Starts the SDK for an existing session (access token), syncs until PREPARED. */
  async login(args) {
    if (client) throw new PeerError("already logged in", "PEER_BAD_COMMAND");
    const baseUrl = need(args, "baseUrl");
    accessToken = need(args, "accessToken");
    // The device id comes from the token (whoami) unless given: the SDK's crypto needs it at creation.
    const probe = sdk.createClient({ baseUrl, userId: need(args, "userId"), accessToken, logger: sdkLogger });
    const who = await probe.whoami();
    const c = sdk.createClient({ baseUrl, userId: args.userId, accessToken, deviceId: args.deviceId ?? who.device_id, logger: sdkLogger });
    if (who.user_id !== args.userId) throw new PeerError(`the token belongs to ${who.user_id}, not ${args.userId}`, "PEER_BAD_COMMAND");
    client = c;
    // End-to-end encryption as Element has it: the SDK's Rust crypto (matrix-sdk-crypto-wasm), keys kept in memory
    // for the life of this process. Encrypted rooms are then read and written like any other; "crypto": false
    // leaves it out (a client that cannot read encrypted rooms).
    if (args.crypto !== false) await c.initRustCrypto({ useIndexedDB: false });
    // A message counts once readable: an encrypted one when the SDK has decrypted it, which may be after it came.
    const keep = (ev, roomId) => {
      if (!roomId || ev.getType() !== EventType.RoomMessage) return;
      if (!received.has(roomId)) received.set(roomId, new Map());
      received.get(roomId).set(ev.getId(), ev);
    };
    c.on(RoomEvent.Timeline, (ev, room) => keep(ev, room?.roomId));
    c.on(MatrixEventEvent.Decrypted, (ev) => keep(ev, ev.getRoomId()));
    const prepared = new Promise((resolve, reject) => {
      const onSync = (state, _previous, data) => {
        if (state === SyncState.Prepared || state === SyncState.Syncing) {
          c.off(ClientEvent.Sync, onSync);
          resolve();
        } else if (state === SyncState.Error && args.failOnSyncError !== false) {
          c.off(ClientEvent.Sync, onSync);
          reject(new PeerError(`the SDK's first sync failed: ${data?.error?.message ?? "unknown error"}`, data?.error?.errcode ?? "PEER_SYNC"));
        }
      };
      c.on(ClientEvent.Sync, onSync);
    });
    await c.startClient({ initialSyncLimit: args.initialSyncLimit ?? 50, lazyLoadMembers: false, pollTimeout: args.pollTimeout ?? 30000 });
    await withTimeout(prepared, args.timeoutMs ?? 30000, "the SDK's first sync");
    return { user_id: who.user_id, device_id: who.device_id ?? null };
  },

  /**
   * createRoom with the CS API body as given (preset, is_direct, invite, room_version, room_alias_name,
   * initial_state, ...); `join_rule` is a shorthand for an m.room.join_rules entry in initial_state.
   */
  async createRoom(args) {
    const c = loggedIn();
    const { id: _id, cmd: _cmd, join_rule: joinRule, ...options } = args;
    if (joinRule) {
      options.initial_state = [...(options.initial_state ?? []), { type: EventType.RoomJoinRules, state_key: "", content: { join_rule: joinRule } }];
    }
    const { room_id: roomId } = await politely(() => c.createRoom(options));
    return { room_id: roomId };
  },

  /**
   * A DM as Element opens one: trusted_private_chat, is_direct, the invitee, and with `encrypted` the
   * m.room.encryption state Element puts in initial_state; then the room goes into m.direct.
   */
  async createDm(args) {
    const c = loggedIn();
    const userId = need(args, "userId");
    const initialState = args.encrypted === true
      ? [{ type: EventType.RoomEncryption, state_key: "", content: { algorithm: "m.megolm.v1.aes-sha2" } }]
      : undefined;
    const { room_id: roomId } = await politely(() =>
      c.createRoom({ preset: Preset.TrustedPrivateChat, visibility: Visibility.Private, is_direct: true, invite: [userId], initial_state: initialState }),
    );
    if (args.updateDirect !== false) {
      const direct = { ...((await c.getAccountDataFromServer(EventType.Direct)) ?? {}) };
      direct[userId] = [...new Set([...(direct[userId] ?? []), roomId])];
      await politely(() => c.setAccountData(EventType.Direct, direct));
    }
    return { room_id: roomId };
  },

  async invite(args) {
    await politely(() => loggedIn().invite(need(args, "room"), need(args, "userId"), args.reason ? { reason: args.reason } : undefined));
    return {};
  },

  /** Joins, then waits until the SDK's own sync shows the join, so the room model read next is the joined room's. */
  async join(args) {
    const c = loggedIn();
    const room = await politely(() => c.joinRoom(need(args, "room"), args.via ? { viaServers: args.via } : undefined));
    // joinRoom resolves on the HTTP answer; until the next sync the Room may still hold only invite or knock state
    // (stripped: no power levels), so a power-level read straight after would see defaults.
    await waitUntil(() => (c.getRoom(room.roomId)?.getMyMembership() === "join" ? true : undefined), args.timeoutMs ?? 20000,
      () => `the SDK's sync to show our join of ${room.roomId}`);
    return { room_id: room.roomId };
  },

  async knock(args) {
    const result = await politely(() => loggedIn().knockRoom(need(args, "room"), { reason: args.reason, viaServers: args.via }));
    return { room_id: result.room_id };
  },

  async leave(args) {
    await politely(() => loggedIn().leave(need(args, "room")));
    return {};
  },

  /** Sets one user's power level through the SDK (it reads m.room.power_levels and sends it back with the change). */
  async setPowerLevel(args) {
    const response = await politely(() => loggedIn().setPowerLevel(need(args, "room"), need(args, "userId"), need(args, "level")));
    return { event_id: response.event_id };
  },

  async kick(args) {
    await politely(() => loggedIn().kick(need(args, "room"), need(args, "userId"), args.reason));
    return {};
  },

  /** m.room.message through the SDK's send queue; a retry after a 429 reuses the transaction id. */
  async send(args) {
    const c = loggedIn();
    const content = { msgtype: args.msgtype ?? "m.text", body: need(args, "body") };
    if (args.html) {
      content.format = "org.matrix.custom.html";
      content.formatted_body = args.html;
    }
    const txnId = `peer${process.pid}.${++txnCounter}`;
    const response = await politely(() => c.sendMessage(need(args, "room"), content, txnId));
    return { event_id: response.event_id };
  },

  /**
   * The first m.room.message in the room's live timeline (already there, or arriving) whose body contains
   * `contains`, or matches `regex` (JavaScript syntax, `flags` optional), from `sender` if given, answering the
   * event `replyTo` (m.in_reply_to) if given.
   */
  async waitForMessage(args) {
    const c = loggedIn();
    const roomId = need(args, "room");
    const regex = args.regex ? new RegExp(args.regex, args.flags ?? "") : null;
    if (!regex && args.contains === undefined) throw new PeerError("give 'contains' or 'regex'", "PEER_BAD_COMMAND");
    const matches = (ev) =>
      ev.getType() === EventType.RoomMessage &&
      isRemote(ev) &&
      (!args.sender || ev.getSender() === args.sender) &&
      (!args.msgtype || ev.getContent().msgtype === args.msgtype) &&
      (!args.replyTo || repliesTo(ev) === args.replyTo) &&
      typeof ev.getContent().body === "string" &&
      (regex ? regex.test(ev.getContent().body) : ev.getContent().body.includes(args.contains));
    // Timeline events are caught as they arrive too: a limited sync can drop them from the live timeline.
    let seen = null;
    const onTimeline = (ev, room, toStartOfTimeline) => {
      if (!seen && !toStartOfTimeline && room?.roomId === roomId && matches(ev)) seen = ev;
    };
    const onDecrypted = (ev) => {
      if (!seen && ev.getRoomId() === roomId && matches(ev)) seen = ev;
    };
    c.on(RoomEvent.Timeline, onTimeline);
    c.on(MatrixEventEvent.Decrypted, onDecrypted);
    try {
      const ev = await waitUntil(
        () => seen ?? c.getRoom(roomId)?.getLiveTimeline().getEvents().find(matches),
        args.timeoutMs ?? 20000,
        () => {
          const bodies = c.getRoom(roomId)?.getLiveTimeline().getEvents()
            .filter((e) => e.getType() === EventType.RoomMessage).slice(-5).map((e) => `${e.getSender()}: ${e.getContent().body}`);
          return `a message ${regex ? `matching /${args.regex}/` : `containing '${args.contains}'`}${args.sender ? ` from ${args.sender}` : ""} in ${roomId}` +
            (bodies ? `; last messages: ${JSON.stringify(bodies)}` : "; the SDK does not know the room");
        },
      );
      return { ...eventJson(ev), body: ev.getContent().body, msgtype: ev.getContent().msgtype };
    } finally {
      c.off(RoomEvent.Timeline, onTimeline);
      c.off(MatrixEventEvent.Decrypted, onDecrypted);
    }
  },

  /**
   * Every m.room.message the SDK has in the room (its live timeline, and all it delivered since login), from `sender`
   * if given, oldest first: for a test that proves something was not said, after a control message that was.
   */
  async messages(args) {
    const c = loggedIn();
    const roomId = need(args, "room");
    const events = new Map(received.get(roomId) ?? []);
    for (const ev of c.getRoom(roomId)?.getLiveTimeline().getEvents() ?? []) {
      if (ev.getType() === EventType.RoomMessage) events.set(ev.getId(), ev);
    }
    const list = [...events.values()]
      .filter((ev) => isRemote(ev) && (!args.sender || ev.getSender() === args.sender))
      .sort((a, b) => a.getTs() - b.getTs())
      .map((ev) => ({ ...eventJson(ev), body: ev.getContent().body, msgtype: ev.getContent().msgtype }));
    return { messages: list };
  },

  /**
   * Waits until the SDK's room model shows `user` (default: ourselves) with `membership`; returns the member
   * event and, for our own invites, whether the SDK takes the room for a DM (its getDMInviter()).
   */
  async waitForMembership(args) {
    const c = loggedIn();
    const roomId = need(args, "room");
    const userId = args.user ?? c.getUserId();
    const membership = need(args, "membership");
    const current = () => {
      const room = c.getRoom(roomId);
      if (!room) return null;
      const member = room.getMember(userId);
      return member?.membership ?? (userId === c.getUserId() ? room.getMyMembership() : null);
    };
    await waitUntil(() => (current() === membership ? true : undefined), args.timeoutMs ?? 20000,
      () => `${userId} to be '${membership}' in ${roomId} (the SDK has ${current() ?? "no membership"})`);
    const room = c.getRoom(roomId);
    const memberEvent = room.getMember(userId)?.events.member ?? room.currentState.getStateEvents(EventType.RoomMember, userId);
    return {
      membership,
      event: memberEvent ? eventJson(memberEvent) : null,
      dm_inviter: userId === c.getUserId() ? (room.getDMInviter() ?? null) : null,
    };
  },

  /**
   * Waits until we are invited to some room (by `inviter`, when given) that is not in `except`; returns the room,
   * the inviter, and whether the SDK takes it for a DM (the invite's is_direct, through getDMInviter()).
   */
  async waitForInvite(args) {
    const c = loggedIn();
    const except = new Set(args.except ?? []);
    const invited = () => c.getRooms().find((room) =>
      !except.has(room.roomId) && room.getMyMembership() === "invite" &&
      (!args.inviter || room.getMember(c.getUserId())?.events.member?.getSender() === args.inviter));
    const room = await waitUntil(invited, args.timeoutMs ?? 20000,
      () => `an invite${args.inviter ? ` from ${args.inviter}` : ""} (the SDK has ${c.getRooms().length} rooms)`);
    return {
      room: room.roomId,
      inviter: room.getMember(c.getUserId())?.events.member?.getSender() ?? null,
      dm_inviter: room.getDMInviter() ?? null,
    };
  },

  /**
   * Waits until the SDK's crypto knows `device` of `user` (default: ourselves), i.e. the device has published its
   * keys and the device list the SDK follows shows it (CS API "Tracking the device list for a user").
   */
  async waitForDevice(args) {
    const c = loggedIn();
    const userId = args.user ?? c.getUserId();
    const deviceId = need(args, "device");
    const deadline = Date.now() + (args.timeoutMs ?? 20000);
    for (;;) {
      const devices = await c.getCrypto().getUserDeviceInfo([userId], true);
      if (devices.get(userId)?.has(deviceId)) return { devices: [...devices.get(userId).keys()] };
      if (Date.now() > deadline) {
        throw new PeerError(`timed out waiting for ${userId}'s device ${deviceId} (the SDK knows ${[...(devices.get(userId)?.keys() ?? [])].join(", ") || "none"})`, "PEER_TIMEOUT");
      }
      await sleep(250);
    }
  },

  /** m.room.power_levels from the server, and the levels the SDK's room model gives the named users. */
  async getPowerLevels(args) {
    const c = loggedIn();
    const roomId = need(args, "room");
    const content = await c.getStateEvent(roomId, EventType.RoomPowerLevels, "");
    const room = c.getRoom(roomId);
    const levels = {};
    for (const userId of args.users ?? []) {
      // Room v12 creators are infinitely powerful: the SDK says Infinity, which JSON cannot carry as a number.
      const level = room?.getMember(userId)?.powerLevel;
      levels[userId] = level === undefined ? null : Number.isFinite(level) ? level : String(level);
    }
    return { content, levels };
  },

  async getState(args) {
    return { content: await loggedIn().getStateEvent(need(args, "room"), need(args, "type"), args.stateKey ?? "") };
  },

  /** Uploads through the SDK (POST /_matrix/media/v3/upload); bytes as base64, or text. */
  async upload(args) {
    const data = args.base64 !== undefined ? Buffer.from(args.base64, "base64") : Buffer.from(need(args, "text"), "utf8");
    const response = await politely(() => loggedIn().uploadContent(data, { type: args.contentType ?? "application/octet-stream", name: args.name ?? "peer.bin" }));
    return { content_uri: response.content_uri, sha256: createHash("sha256").update(data).digest("hex"), length: data.length };
  },

  /**
   * Downloads through the authenticated media API (GET /_matrix/client/v1/media/download/...) with our token;
   * `withData` adds the bytes, base64, for a test that reads the file (an export, say).
   */
  async download(args) {
    return download(need(args, "mxc"), args.withData === true);
  },

  /**
   * The file of an m.image or m.file content, as a client shows it: from `url`, or, in an encrypted room, from the
   * `file` object (CS API "Sending encrypted attachments"): the ciphertext's SHA-256 checked, then decrypted with
   * AES-256-CTR by Node's own crypto. The content type is the event's (info.mimetype): the upload's is opaque.
   */
  async downloadAttachment(args) {
    const content = need(args, "content");
    if (!content.file) return download(need(content, "url"), args.withData === true);
    const file = content.file;
    const cipher = await download(file.url, true);
    const ciphertext = Buffer.from(cipher.base64, "base64");
    const unpadded = (b) => b.toString("base64").replace(/=+$/, "");
    if (unpadded(createHash("sha256").update(ciphertext).digest()) !== file.hashes?.sha256) {
      throw new PeerError("the encrypted file does not match its sha256 hash", "PEER_MISMATCH");
    }
    const key = Buffer.from(file.key.k.replace(/-/g, "+").replace(/_/g, "/"), "base64");
    const iv = Buffer.from(file.iv, "base64");
    const decipher = createDecipheriv("aes-256-ctr", key, iv);
    const bytes = Buffer.concat([decipher.update(ciphertext), decipher.final()]);
    return {
      url: cipher.url,
      sha256: createHash("sha256").update(bytes).digest("hex"),
      length: bytes.length,
      content_type: content.info?.mimetype ?? null,
      encrypted: true,
      ...(args.withData === true ? { base64: bytes.toString("base64") } : {}),
    };
  },

  async uploadAndDownload(args) {
    const uploaded = await commands.upload(args);
    const downloaded = await download(uploaded.content_uri);
    if (downloaded.sha256 !== uploaded.sha256) {
      throw new PeerError(`downloaded ${downloaded.length} bytes (sha256 ${downloaded.sha256}) but uploaded ${uploaded.length} (${uploaded.sha256})`, "PEER_MISMATCH");
    }
    return { content_uri: uploaded.content_uri, ...downloaded };
  },

  /** action get: the server's copy (null when never set); action set: writes it and waits for the sync echo. */
  async accountData(args) {
    const c = loggedIn();
    const type = args.type ?? EventType.Direct;
    if (args.action === "get") return { content: await c.getAccountDataFromServer(type) };
    if (args.action === "set") {
      await politely(() => c.setAccountData(type, need(args, "content")));
      return { content: c.getAccountData(type)?.getContent() ?? null };
    }
    throw new PeerError("accountData needs action 'get' or 'set'", "PEER_BAD_COMMAND");
  },

  async whoami() {
    return await loggedIn().whoami();
  },

  async stop() {
    client?.stopClient();
    client = null;
    setImmediate(() => process.exit(0));
    return {};
  },
};

function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new PeerError(`timed out after ${ms} ms waiting for ${what}`, "PEER_TIMEOUT")), ms);
    }),
  ]);
}

async function run(line) {
  let command;
  try {
    command = JSON.parse(line);
  } catch (e) {
    write({ id: null, ok: false, error: `not JSON: ${e.message}`, errcode: "PEER_BAD_COMMAND" });
    return;
  }
  const { id, cmd } = command;
  const handler = Object.hasOwn(commands, cmd) ? commands[cmd] : null;
  if (!handler) {
    write({ id, ok: false, error: `unknown command '${cmd}'`, errcode: "PEER_BAD_COMMAND" });
    return;
  }
  try {
    write({ id, ok: true, result: (await handler(command)) ?? {} });
  } catch (e) {
    // MatrixError from the SDK carries errcode and httpStatus; anything else is the peer's own failure.
    console.error(`peer: ${cmd} failed:`, e?.stack ?? e);
    write({ id, ok: false, error: e?.message ?? String(e), errcode: e?.errcode ?? "PEER_ERROR", status: e?.httpStatus ?? e?.status ?? null });
  }
}

process.on("unhandledRejection", (reason) => console.error("peer: unhandled rejection:", reason?.stack ?? reason));

const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
lines.on("line", (line) => {
  if (line.trim()) void run(line);
});
lines.on("close", () => {
  client?.stopClient();
  process.exit(0);
});
write({ id: 0, ok: true, result: { ready: true, sdk: `matrix-js-sdk ${sdkVersion}`, node: process.version } });
