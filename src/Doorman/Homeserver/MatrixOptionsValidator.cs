using Microsoft.Extensions.Options;

namespace Doorman.Homeserver;

/// <summary>
/// Checks <c>Matrix:*</c> and <c>Operators</c> before the bot touches the network (STYLE §3): every problem is
/// reported at once, each naming its key, and no message ever contains a secret's value.
/// </summary>
public sealed class MatrixOptionsValidator(IOptions<OperatorOptions> operators) : IValidateOptions<MatrixOptions>
{
    public ValidateOptionsResult Validate(string? name, MatrixOptions options)
    {
        var problems = new List<string>();

        if (options.HomeserverUrl.Length > 0
            && (!Uri.TryCreate(options.HomeserverUrl, UriKind.Absolute, out var url) || url.Scheme is not ("http" or "https")))
            problems.Add("Matrix:HomeserverUrl must be the homeserver's http(s) URL, e.g. https://matrix.example.org (or empty, to discover it from Matrix:UserId's server)");
        if (!IsUserId(options.UserId))
            problems.Add("Matrix:UserId must be the bot's full user id, e.g. @doorman:example.org");
        var hasToken = !string.IsNullOrWhiteSpace(options.AccessToken);
        var hasPassword = !string.IsNullOrEmpty(options.Password);
        if (!hasToken && !hasPassword)
            problems.Add("Matrix:AccessToken (or Matrix:AccessTokenFile) is required: the bot account's access token; or Matrix:Password (or Matrix:PasswordFile) to log in with");
        if (hasToken && hasPassword)
            problems.Add("Matrix:AccessToken and Matrix:Password are both set: set only one");
        if (string.IsNullOrWhiteSpace(options.CommandPrefix) || options.CommandPrefix.Any(char.IsWhiteSpace))
            problems.Add("Matrix:CommandPrefix must be one word, e.g. !gate");
        if (options.CryptoKey.Length > 0 && CryptoKeys.Parse(options.CryptoKey) is null)
            problems.Add("Matrix:CryptoKey must be 32 random bytes in base64 (openssl rand -base64 32), or empty for a key file beside the database");
        foreach (var (pattern, i) in options.AllowedInviters.Select((p, i) => (p, i)))
            if (!IsUserId(pattern) && !(pattern.StartsWith("*:", StringComparison.Ordinal) && pattern.Length > 2))
                problems.Add($"Matrix:AllowedInviters:{i} (“{pattern}”) must be a user id like @owner:example.org or a server pattern like *:example.org");
        foreach (var (op, i) in operators.Value.Operators.Select((p, i) => (p, i)))
            if (!IsUserId(op))
                problems.Add($"Operators:{i} (“{op}”) must be a user id like @admin:example.org");

        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }

    /// <summary><c>@localpart:server</c> (spec appendix "User Identifiers"), checked loosely: the homeserver is the judge.</summary>
    public static bool IsUserId(string? text) =>
        text is { Length: > 3 and <= 255 } && text[0] == '@' && text.IndexOf(':', StringComparison.Ordinal) is var colon and > 1
        && colon < text.Length - 1 && !text.Any(char.IsWhiteSpace);
}
