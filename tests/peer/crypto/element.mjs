// Element's side: matrix-sdk-crypto-wasm's OlmMachine (the Rust crypto Element Web runs), fed by a homeserver
// that lives in these operations: each request the machine wants sent is answered here from what the test gave.

/** Answers the machine's outgoing requests until it has none: key uploads accepted, key queries from `directory`. */
async function pump(W, machine, directory) {
  for (let round = 0; round < 10; round++) {
    const requests = await machine.outgoingRequests();
    if (requests.length === 0) return;
    for (const request of requests) {
      let response = {};
      if (request.type === W.RequestType.KeysUpload) {
        const body = JSON.parse(request.body);
        if (body.device_keys) directory.ownDevice = body.device_keys;
        response = { one_time_key_counts: { signed_curve25519: 50 } };
      } else if (request.type === W.RequestType.KeysQuery) {
        response = directory.queryResponse();
      }
      await machine.markRequestAsSent(request.id, request.type, JSON.stringify(response));
    }
  }
}

/** A directory of devices and cross-signing keys for one other user (the bot) and Element's own user. */
function directoryFor(own, other) {
  const directory = {
    ownDevice: null,
    ownCrossSigning: null,
    queryResponse() {
      const ownDevices = directory.ownDevice ? { [own.userId]: { [own.deviceId]: directory.ownDevice } } : {};
      const xs = directory.ownCrossSigning ?? {};
      return {
        failures: {},
        device_keys: { ...ownDevices, [other.userId]: { [other.deviceId]: other.deviceKeys } },
        master_keys: { ...(xs.master_keys ?? {}), ...(other.masterKey ? { [other.userId]: other.masterKey } : {}) },
        self_signing_keys: { ...(xs.self_signing_keys ?? {}), ...(other.selfSigningKey ? { [other.userId]: other.selfSigningKey } : {}) },
        user_signing_keys: { ...(xs.user_signing_keys ?? {}) },
      };
    },
  };
  return directory;
}

/**
 * Element's device on a real homeserver: an OlmMachine whose outgoing requests go over HTTP, and a sync that feeds
 * it what the server has for the device. This is the part of a Matrix client that Element's crypto needs.
 */
class ElementDevice {
  constructor(W, machine, homeserver, userId, deviceId, accessToken, password) {
    Object.assign(this, { W, machine, homeserver: homeserver.replace(/\/$/, ""), userId, deviceId, accessToken, password });
    this.since = null;
    this.timeline = new Map();
    this.txn = 0;
  }

  async http(method, path, body) {
    const response = await fetch(`${this.homeserver}/_matrix/client/v3/${path}`, {
      method,
      headers: { Authorization: `Bearer ${this.accessToken}`, "Content-Type": "application/json" },
      body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
    });
    const text = await response.text();
    const json = text ? JSON.parse(text) : {};
    if (!response.ok) {
      const error = new Error(`${method} ${path}: ${response.status} ${json.errcode ?? ""} ${json.error ?? text}`);
      error.status = response.status;
      error.json = json;
      throw error;
    }
    return json;
  }

  /** Sends every request the machine has queued, and tells it the answers, until it has none. */
  async pump() {
    const W = this.W;
    for (let round = 0; round < 20; round++) {
      const requests = await this.machine.outgoingRequests();
      if (requests.length === 0) return;
      for (const r of requests) {
        let answer;
        switch (r.type) {
          case W.RequestType.KeysUpload: answer = await this.http("POST", "keys/upload", r.body); break;
          case W.RequestType.KeysQuery: answer = await this.http("POST", "keys/query", r.body); break;
          case W.RequestType.KeysClaim: answer = await this.http("POST", "keys/claim", r.body); break;
          case W.RequestType.ToDevice:
            answer = await this.http("PUT", `sendToDevice/${encodeURIComponent(r.event_type)}/${encodeURIComponent(r.txn_id)}`, r.body); break;
          case W.RequestType.SignatureUpload: answer = await this.http("POST", "keys/signatures/upload", r.body); break;
          case W.RequestType.RoomMessage:
            answer = await this.http("PUT", `rooms/${encodeURIComponent(r.room_id)}/send/${encodeURIComponent(r.event_type)}/${encodeURIComponent(r.txn_id)}`, r.body); break;
          default: answer = {};
        }
        await this.machine.markRequestAsSent(r.id, r.type, JSON.stringify(answer));
      }
    }
  }

  /** Element's cross-signing bootstrap at login: master, self-signing and user-signing keys, its device signed. */
  async crossSign() {
    const requests = await this.machine.bootstrapCrossSigning(true);
    if (requests.uploadKeysRequest) {
      const r = requests.uploadKeysRequest;
      await this.machine.markRequestAsSent(r.id, r.type, JSON.stringify(await this.http("POST", "keys/upload", r.body)));
    }
    const signing = JSON.parse(requests.uploadSigningKeysRequest.body);
    try {
      await this.http("POST", "keys/device_signing/upload", signing);
    } catch (e) {
      if (e.status !== 401 || !e.json?.session) throw e;
      await this.http("POST", "keys/device_signing/upload", { ...signing, auth: {
        type: "m.login.password", identifier: { type: "m.id.user", user: this.userId }, password: this.password, session: e.json.session } });
    }
    await this.http("POST", "keys/signatures/upload", requests.uploadSignaturesRequest.body);
    await this.pump();
  }

  /** One /sync: to-device events, device lists and key counts go to the machine; timeline events are kept. */
  async sync() {
    const W = this.W;
    const query = new URLSearchParams({ timeout: "0" });
    if (this.since) query.set("since", this.since);
    const response = await this.http("GET", `sync?${query}`);
    this.since = response.next_batch;
    const toDevice = response.to_device?.events ?? [];
    const lists = new W.DeviceLists(
      (response.device_lists?.changed ?? []).map((u) => new W.UserId(u)),
      (response.device_lists?.left ?? []).map((u) => new W.UserId(u)));
    const counts = new Map(Object.entries(response.device_one_time_keys_count ?? {}));
    const fallback = response.device_unused_fallback_key_types ? new Set(response.device_unused_fallback_key_types) : undefined;
    const processed = await this.machine.receiveSyncChanges(JSON.stringify(toDevice), lists, counts, fallback);
    for (const [roomId, room] of Object.entries(response.rooms?.join ?? {})) {
      const kept = this.timeline.get(roomId) ?? [];
      kept.push(...(room.timeline?.events ?? []));
      this.timeline.set(roomId, kept);
    }
    await this.pump();
    return { toDevice: toDevice.map((e) => e.type), processed: processed.length };
  }
}

const trust = (W, name) => ({
  untrusted: W.TrustRequirement.Untrusted,
  crossSignedOrLegacy: W.TrustRequirement.CrossSignedOrLegacy,
  crossSigned: W.TrustRequirement.CrossSigned,
})[name ?? "untrusted"];

export const ops = {
  /**
   * Element's device for a user registered on a homeserver: keys uploaded, cross-signing bootstrapped (unless
   * crossSign is false), one sync done. Arguments: homeserver, userId, accessToken, and optionally deviceId (else
   * whoami's) and password (for a server that asks for it before taking cross-signing keys).
   */
  "element.start": async (args, ctx) => {
    const W = await ctx.wasm();
    let deviceId = args.deviceId;
    if (!deviceId) {
      // The device the token belongs to, as a client learns it (whoami).
      const who = await new ElementDevice(W, null, args.homeserver, args.userId, null, args.accessToken).http("GET", "account/whoami");
      deviceId = who.device_id;
    }
    const machine = await W.OlmMachine.initialize(new W.UserId(args.userId), new W.DeviceId(deviceId));
    const device = new ElementDevice(W, machine, args.homeserver, args.userId, deviceId, args.accessToken, args.password);
    await device.pump();
    if (args.crossSign !== false) await device.crossSign();
    await device.sync();
    return { handle: ctx.keep(device), ed25519: machine.identityKeys.ed25519.toBase64(), curve25519: machine.identityKeys.curve25519.toBase64() };
  },

  /** One sync round for the device; says which to-device event types arrived. */
  "element.sync": async (args, ctx) => ctx.get(args.handle).sync(),

  /**
   * Sends an encrypted room event as Element does: tracks the members' devices, makes Olm sessions, shares the
   * room key (strategy "all" devices, or "identity": only cross-signed devices, Element's "exclude insecure
   * devices"), encrypts and sends. Returns the event id and, per recipient device, what the room key went as
   * (m.room.encrypted, or m.room_key.withheld).
   */
  "element.send": async (args, ctx) => {
    const device = ctx.get(args.handle);
    const W = device.W;
    // wasm-bindgen takes ownership of the ids in an array argument: each call gets its own.
    const users = () => args.members.map((u) => new W.UserId(u));
    await device.machine.updateTrackedUsers(users());
    await device.pump();
    const claim = await device.machine.getMissingSessions(users());
    if (claim) await device.machine.markRequestAsSent(claim.id, claim.type, JSON.stringify(await device.http("POST", "keys/claim", claim.body)));
    const settings = new W.EncryptionSettings();
    settings.sharingStrategy = args.strategy === "identity" ? W.CollectStrategy.identityBasedStrategy() : W.CollectStrategy.allDevices();
    const roomId = new W.RoomId(args.roomId);
    const shared = [];
    for (const r of await device.machine.shareRoomKey(roomId, users(), settings)) {
      await device.http("PUT", `sendToDevice/${encodeURIComponent(r.event_type)}/${encodeURIComponent(r.txn_id)}`, r.body);
      await device.machine.markRequestAsSent(r.id, r.type, "{}");
      for (const [user, devices] of Object.entries(JSON.parse(r.body).messages)) {
        for (const deviceId of Object.keys(devices)) shared.push({ user, device: deviceId, as: r.event_type });
      }
    }
    const content = await device.machine.encryptRoomEvent(roomId, args.type ?? "m.room.message", JSON.stringify(args.content));
    const sent = await device.http("PUT", `rooms/${encodeURIComponent(args.roomId)}/send/m.room.encrypted/el${Date.now()}${device.txn++}`, content);
    return { eventId: sent.event_id, shared };
  },

  /**
   * The room's encrypted events Element has seen (sync first), decrypted with a trust requirement ("untrusted",
   * "crossSignedOrLegacy", "crossSigned"): each is {eventId, sender, type, content} or {eventId, sender, error}.
   */
  "element.messages": async (args, ctx) => {
    const device = ctx.get(args.handle);
    const W = device.W;
    const result = [];
    for (const event of device.timeline.get(args.roomId) ?? []) {
      if (event.type !== "m.room.encrypted" || (args.sender && event.sender !== args.sender)) continue;
      try {
        const decrypted = await device.machine.decryptRoomEvent(JSON.stringify({ ...event, room_id: args.roomId }),
          new W.RoomId(args.roomId), new W.DecryptionSettings(trust(W, args.trust)));
        const clear = JSON.parse(decrypted.event);
        result.push({ eventId: event.event_id, sender: event.sender, type: clear.type, content: clear.content });
      } catch (e) {
        result.push({ eventId: event.event_id, sender: event.sender, error: `${e.code ?? ""} ${e.description ?? e.message}`.trim() });
      }
    }
    return result;
  },

  /**
   * Decrypts an encrypted attachment (CS API "Sending encrypted attachments") with Element's code: the
   * ciphertext as base64 and the `file` object of the event. Returns the plaintext as base64.
   */
  "element.decryptAttachment": async (args, ctx) => {
    const W = await ctx.wasm();
    const attachment = new W.EncryptedAttachment(Buffer.from(args.ciphertext, "base64"), JSON.stringify(args.file));
    return Buffer.from(W.Attachment.decrypt(attachment)).toString("base64");
  },

  /**
   * How Element sees another user's device: found at all (its self-signature checked), signed by its owner's
   * cross-signing identity, and whether Element's identity-based sharing (exclude insecure devices) would give it
   * a room key. Arguments: userId, deviceId, deviceKeys, and optionally masterKey and selfSigningKey.
   */
  "element.deviceTrust": async (args, ctx) => {
    const W = await ctx.wasm();
    const own = { userId: "@element:peer.test", deviceId: "ELEMENTDEV" };
    const machine = await W.OlmMachine.initialize(new W.UserId(own.userId), new W.DeviceId(own.deviceId));
    const directory = directoryFor(own, args);
    await pump(W, machine, directory);
    const bootstrap = await machine.bootstrapCrossSigning(true);
    if (bootstrap.uploadKeysRequest) await machine.markRequestAsSent(bootstrap.uploadKeysRequest.id, bootstrap.uploadKeysRequest.type, '{"one_time_key_counts":{}}');
    const upload = JSON.parse(bootstrap.uploadSigningKeysRequest.body);
    directory.ownCrossSigning = {
      master_keys: { [own.userId]: upload.master_key },
      self_signing_keys: { [own.userId]: upload.self_signing_key },
      user_signing_keys: { [own.userId]: upload.user_signing_key },
    };
    await machine.updateTrackedUsers([new W.UserId(args.userId)]);
    await pump(W, machine, directory);
    const device = await machine.getDevice(new W.UserId(args.userId), new W.DeviceId(args.deviceId));
    const result = device
      ? { found: true, crossSignedByOwner: device.isCrossSignedByOwner(), crossSigningTrusted: device.isCrossSigningTrusted() }
      : { found: false, crossSignedByOwner: false, crossSigningTrusted: false };
    machine.free?.();
    return result;
  },
};
