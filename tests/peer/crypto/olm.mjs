// Olm (m.olm.v1.curve25519-aes-sha2) with libolm, for tests/Doorman.Matrix.Tests/Crypto/OlmInteropTests.cs.
// Keys and bodies are unpadded base64, plaintexts UTF-8 strings, as libolm's JS API takes and returns them.
export const ops = {
  /** A new account: its handle and identity keys. */
  "olm.account.create": async (_args, ctx) => {
    const account = new ctx.Olm.Account();
    account.create();
    return { account: ctx.keep(account), ...JSON.parse(account.identity_keys()) };
  },

  /** Generates `count` one-time keys, marks them published and returns them (key id -> key). */
  "olm.account.oneTimeKeys": async ({ account, count }, ctx) => {
    const a = ctx.get(account);
    a.generate_one_time_keys(count);
    const keys = JSON.parse(a.one_time_keys()).curve25519;
    a.mark_keys_as_published();
    return keys;
  },

  /** Generates a fallback key, marks it published and returns it (key id -> key). */
  "olm.account.fallbackKey": async ({ account }, ctx) => {
    const a = ctx.get(account);
    a.generate_fallback_key();
    const keys = JSON.parse(a.unpublished_fallback_key()).curve25519;
    a.mark_keys_as_published();
    return keys;
  },

  /** Signs a string with the account's Ed25519 key. */
  "olm.account.sign": async ({ account, message }, ctx) => ctx.get(account).sign(message),

  /** Starts a session to another device's identity key and one-time (or fallback) key. */
  "olm.session.outbound": async ({ account, identityKey, oneTimeKey }, ctx) => {
    const session = new ctx.Olm.Session();
    session.create_outbound(ctx.get(account), identityKey, oneTimeKey);
    return { session: ctx.keep(session), sessionId: session.session_id() };
  },

  /** Accepts a pre-key message: the new session, its id and the plaintext; the one-time key is removed. */
  "olm.session.inbound": async ({ account, identityKey, body }, ctx) => {
    const a = ctx.get(account);
    const session = new ctx.Olm.Session();
    session.create_inbound_from(a, identityKey, body);
    const plaintext = session.decrypt(0, body);
    a.remove_one_time_keys(session);
    return { session: ctx.keep(session), sessionId: session.session_id(), plaintext };
  },

  "olm.session.encrypt": async ({ session, plaintext }, ctx) => ctx.get(session).encrypt(plaintext),

  "olm.session.decrypt": async ({ session, type, body }, ctx) => ctx.get(session).decrypt(type, body),

  "olm.session.matchesInbound": async ({ session, identityKey, body }, ctx) =>
    ctx.get(session).matches_inbound_from(identityKey, body),

  "olm.session.id": async ({ session }, ctx) => ctx.get(session).session_id(),
};
