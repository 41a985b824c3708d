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

export const ops = {
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
