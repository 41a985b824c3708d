using System.Reflection;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.Options;

namespace Doorman.Hosting;

/// <summary>
/// Secrets from files (README "Secrets"): for every string option <c>X</c> with a sibling <c>XFile</c>, a set
/// <c>XFile</c> names a file whose content, without its trailing newline, becomes <c>X</c> (Docker and compose
/// mount secrets as files under <c>/run/secrets</c>). Setting both is refused naming both keys; a file that cannot be
/// read is refused naming its key and path. Messages never contain what a file holds. Runs after binding, before the
/// options' own validators see the value, and reports through validation so every problem is listed at once.
/// </summary>
/// <param name="sectionPath">The bound section's path, e.g. "Matrix", for the keys named in problems.</param>
internal sealed class SecretFiles<T>(string sectionPath) : IPostConfigureOptions<T>, IValidateOptions<T>
    where T : class
{
    private const string Suffix = "File";

    // The pairs, found once by the naming convention: X and XFile, both public writable strings.
    private static readonly (PropertyInfo Value, PropertyInfo File)[] Pairs =
        [.. from file in typeof(T).GetProperties(BindingFlags.Public | BindingFlags.Instance)
            where file.Name.EndsWith(Suffix, StringComparison.Ordinal) && file.PropertyType == typeof(string) && file.CanWrite
            let value = typeof(T).GetProperty(file.Name[..^Suffix.Length], BindingFlags.Public | BindingFlags.Instance)
            where value is not null && value.PropertyType == typeof(string) && value.CanWrite
            select (value, file)];

    // Problems found while resolving one options instance, reported when that instance is validated.
    private readonly ConditionalWeakTable<T, List<string>> _problems = new();

    public void PostConfigure(string? name, T options)
    {
        var problems = new List<string>();
        foreach (var (valueProperty, fileProperty) in Pairs)
        {
            var path = (string?)fileProperty.GetValue(options);
            if (string.IsNullOrWhiteSpace(path))
                continue;
            string Key(PropertyInfo p) => $"{sectionPath}:{p.Name}";
            if (!string.IsNullOrEmpty((string?)valueProperty.GetValue(options)))
            {
                problems.Add($"{Key(valueProperty)} and {Key(fileProperty)} are both set: set only one");
                continue;
            }
            if (Read(path, out var content) is { } failure)
                problems.Add($"{Key(fileProperty)}: cannot read '{path}' ({failure})");
            else if (content.Length == 0)
                problems.Add($"{Key(fileProperty)}: the file '{path}' is empty");
            else
                valueProperty.SetValue(options, content);
        }
        _problems.AddOrUpdate(options, problems);
    }

    public ValidateOptionsResult Validate(string? name, T options) =>
        _problems.TryGetValue(options, out var problems) && problems.Count > 0 ? ValidateOptionsResult.Fail(problems) : ValidateOptionsResult.Skip;

    /// <summary>The file's text without its trailing newline; or why it cannot be read, in words that never include its content.</summary>
    private static string? Read(string path, out string content)
    {
        content = "";
        try
        {
            content = TrimNewline(File.ReadAllText(path));
            return null;
        }
        catch (FileNotFoundException)
        {
            return "no such file";
        }
        catch (DirectoryNotFoundException)
        {
            return "no such directory";
        }
        catch (UnauthorizedAccessException)
        {
            return "permission denied, or it is a directory";
        }
        catch (IOException e)
        {
            return e.GetType().Name;
        }
    }

    /// <summary>Files written by <c>echo</c> or an editor end in a newline that is not part of the secret.</summary>
    internal static string TrimNewline(string content) => content.TrimEnd('\r', '\n');
}

public static class SecretFilesSetup
{
    /// <summary>Resolves the <c>XFile</c> options of <typeparamref name="T"/> bound from <paramref name="sectionPath"/>.</summary>
    public static IServiceCollection AddSecretFiles<T>(this IServiceCollection services, string sectionPath)
        where T : class
    {
        var secretFiles = new SecretFiles<T>(sectionPath);
        services.AddSingleton<IPostConfigureOptions<T>>(secretFiles);
        services.AddSingleton<IValidateOptions<T>>(secretFiles);
        return services;
    }
}
