// matrix-bot-sdk requires this module when it loads, but calls it only when a crypto store is configured, which the
// bench bot does not do. Any use fails loudly instead of silently doing nothing.
module.exports = new Proxy({}, {
    get(_, name) {
        if (typeof name === "symbol" || name === "__esModule" || name === "then") return undefined;
        throw new Error(`end-to-end encryption is not available in this benchmark (${String(name)})`);
    },
});
