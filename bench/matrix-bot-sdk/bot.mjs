// The matrix-bot-sdk twin of bench/Doorman.Bench: sync, and answer every `!gate` command with a reply notice.
import { LogLevel, LogService, MatrixClient, MemoryStorageProvider } from "matrix-bot-sdk";

const homeserver = process.env.MATRIX_HOMESERVER_URL;
const token = process.env.MATRIX_ACCESS_TOKEN;
if (!homeserver || !token) {
    console.error("bot.mjs: set MATRIX_HOMESERVER_URL and MATRIX_ACCESS_TOKEN");
    process.exit(2);
}
LogService.setLevel(LogLevel.WARN);

// The same filter as Doorman.Matrix's SyncLoop.
const filter = {
    presence: { types: [] }, account_data: { types: ["m.direct"] },
    room: { timeline: { limit: 50 }, ephemeral: { types: [] }, account_data: { types: [] }, state: { lazy_load_members: true } },
};

const client = new MatrixClient(homeserver, token, new MemoryStorageProvider());
const self = await client.getUserId();

client.on("room.message", async (roomId, event) => {
    const content = event.content;
    // Notices are never commands (bots must not answer them), and neither are our own messages.
    if (event.sender === self || content?.msgtype !== "m.text" || typeof content.body !== "string" || !content.body.startsWith("!gate")) return;
    try {
        await client.replyNotice(roomId, event, "Received: " + content.body);
    } catch (e) {
        LogService.error("bot", `reply to ${event.event_id} failed`, e);
    }
});

process.on("SIGTERM", () => { client.stop(); process.exit(0); });
await client.start(filter);
