using Doorman.Matrix;
using Doorman.Matrix.Events;
using Doorman.Matrix.Sync;

namespace Doorman.Bench;

/// <summary>
/// Answers every <c>!gate</c> command with an <c>m.notice</c> that is a Matrix reply to it (CS API §"Rich replies").
/// The replies to one batch go out together, and the handler returns when all are sent, so the loop stores the
/// batch's token only then (STYLE §7: checkpoint after handling). A send that still fails after the client's retries
/// fails the batch: the loop backs off and handles it again, and the transaction ids, made from the command's event
/// id, make the homeserver drop the repeats.
/// </summary>
public sealed class GateBot(MatrixClient client, string userId) : ISyncHandler
{
    private readonly List<GateCommand> _commands = [];

    public Task HandleAsync(SyncBatch batch, CancellationToken cancellationToken)
    {
        // A fresh session's first batch is history: nothing in it was said to us.
        if (batch.IsInitial)
            return Task.CompletedTask;
        _commands.Clear();
        GateCommands.Collect(batch.Response, userId, _commands);
        return _commands.Count switch
        {
            0 => Task.CompletedTask,
            1 => ReplyAsync(_commands[0], cancellationToken),
            _ => Task.WhenAll(_commands.Select(c => ReplyAsync(c, cancellationToken))),
        };
    }

    private Task<string> ReplyAsync(GateCommand command, CancellationToken cancellationToken) =>
        client.SendMessageAsync(command.RoomId, "gate-" + command.EventId.TrimStart('$'), new MessageContent
        {
            MsgType = MessageContent.Notice,
            Body = "Received: " + command.Body,
            RelatesTo = new RelatesTo { InReplyTo = new InReplyTo { EventId = command.EventId } },
        }, cancellationToken);
}
