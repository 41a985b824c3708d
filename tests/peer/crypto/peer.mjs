// Operations about the peer itself.
export const ops = {
  /** Versions of the reference libraries, for the test log. */
  "peer.versions": async (_args, { Olm }) => ({ olm: Olm.get_library_version().join(".") }),
};
