// Megolm operations on libolm's group sessions, for tests/Doorman.Matrix.Tests/Crypto/MegolmInteropTests.cs.
// Plaintexts are strings (libolm's JS API encrypts and returns UTF-8 text); keys and messages are unpadded base64.

// `keep` and `get` read the context's handle table through `this`: call them on the context.
function inboundSummary(session, context) {
  return {
    handle: context.keep(session),
    session_id: session.session_id(),
    first_known_index: session.first_known_index(),
  };
}

export const ops = {
  /** A new libolm outbound session: its handle, id, session key (sharing format) and next index. */
  "megolm.outbound.create": async (_args, context) => {
    const session = new context.Olm.OutboundGroupSession();
    session.create();
    return {
      handle: context.keep(session),
      session_id: session.session_id(),
      session_key: session.session_key(),
      message_index: session.message_index(),
    };
  },

  /** Encrypts `plaintext` at the session's next index. */
  "megolm.outbound.encrypt": async ({ handle, plaintext }, context) => {
    const session = context.get(handle);
    const message_index = session.message_index();
    return { ciphertext: session.encrypt(plaintext), message_index };
  },

  /** The session key at the session's current index. */
  "megolm.outbound.sessionKey": async ({ handle }, context) => context.get(handle).session_key(),

  /** An inbound session from a session key (sharing format; libolm checks its signature). */
  "megolm.inbound.create": async ({ sessionKey }, context) => {
    const session = new context.Olm.InboundGroupSession();
    session.create(sessionKey);
    return inboundSummary(session, context);
  },

  /** An inbound session from an exported key (export format). */
  "megolm.inbound.import": async ({ exportedKey }, context) => {
    const session = new context.Olm.InboundGroupSession();
    session.import_session(exportedKey);
    return inboundSummary(session, context);
  },

  /** Decrypts a message: its plaintext and index, or an error naming libolm's reason. */
  "megolm.inbound.decrypt": async ({ handle, ciphertext }, context) => context.get(handle).decrypt(ciphertext),

  /** The session export format at `index`. */
  "megolm.inbound.export": async ({ handle, index }, context) => context.get(handle).export_session(index),
};

// matrix-sdk-crypto-wasm (vodozemac under matrix-sdk-crypto): it has no raw group sessions, so keys go in as a
// key export (the `session_key` in the session export format) and messages as m.room.encrypted events.
Object.assign(ops, {
  /** A fresh in-memory OlmMachine that has imported one exported room key; its handle and the import counts. */
  "megolm.wasm.import": async ({ roomId, senderKey, sessionId, exportedKey, signingKey }, context) => {
    const sdk = await context.wasm();
    const machine = await sdk.OlmMachine.initialize(new sdk.UserId("@doorman-peer:localhost"), new sdk.DeviceId("PEERDEVICE"));
    const keys = [{
      algorithm: "m.megolm.v1.aes-sha2",
      room_id: roomId,
      sender_key: senderKey,
      session_id: sessionId,
      session_key: exportedKey,
      sender_claimed_keys: { ed25519: signingKey },
      forwarding_curve25519_key_chain: [],
    }];
    const result = await machine.importExportedRoomKeys(JSON.stringify(keys), () => {});
    return { handle: context.keep(machine), imported: result.importedCount, total: result.totalCount };
  },

  /** Decrypts an m.room.encrypted event built from `ciphertext`; the decrypted event as JSON text. */
  "megolm.wasm.decrypt": async ({ handle, roomId, senderKey, sessionId, ciphertext, eventId }, context) => {
    const sdk = await context.wasm();
    const event = {
      type: "m.room.encrypted",
      event_id: eventId,
      sender: "@doorman:localhost",
      origin_server_ts: 1,
      room_id: roomId,
      content: { algorithm: "m.megolm.v1.aes-sha2", ciphertext, sender_key: senderKey, session_id: sessionId, device_id: "DOORMAN" },
    };
    const decrypted = await context.get(handle).decryptRoomEvent(
      JSON.stringify(event), new sdk.RoomId(roomId), new sdk.DecryptionSettings(sdk.TrustRequirement.Untrusted));
    return decrypted.event;
  },

  /** The machine's key export for the room, as JSON text. */
  "megolm.wasm.export": async ({ handle }, context) => context.get(handle).exportRoomKeys(() => true),
});
