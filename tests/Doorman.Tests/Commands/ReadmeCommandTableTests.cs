using Doorman.Commands;
using Doorman.Tests.Peers;

namespace Doorman.Tests.Commands;

/// <summary>README's "Using it" table names every command <see cref="CommandHelp"/> knows.</summary>
public sealed class ReadmeCommandTableTests
{
    [Fact]
    public void The_readme_table_lists_every_command()
    {
        var readme = File.ReadAllText(Path.Combine(JsPeerEnvironment.RepoRoot, "README.md"));
        var missing = CommandHelp.Owner.Select(u => "`!gate " + u.Name)
            .Concat(CommandHelp.Member.Select(u => "`" + u.Name))
            .Where(form => !readme.Contains(form, StringComparison.Ordinal))
            .ToList();
        Assert.True(missing.Count == 0, "README.md's command table lacks " + string.Join(", ", missing));
    }
}
