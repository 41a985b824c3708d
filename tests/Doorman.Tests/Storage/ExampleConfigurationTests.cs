using System.Reflection;
using Doorman.Access;
using Doorman.Hosting;
using Doorman.Homeserver;
using Doorman.Payments.BtcPay;
using Doorman.Payments.Lnd;
using Doorman.Storage;
using Doorman.Tests.Peers;
using Microsoft.Extensions.Configuration;

namespace Doorman.Tests.Storage;

/// <summary>appsettings.example.json documents every setting, and what it says binds.</summary>
public sealed class ExampleConfigurationTests
{
    private static readonly string ExamplePath = Path.Combine(JsPeerEnvironment.RepoRoot, "appsettings.example.json");

    private static IConfigurationRoot Example() => new ConfigurationBuilder().AddJsonFile(ExamplePath).Build();

    public static TheoryData<string, Type> Sections => new()
    {
        { "Matrix", typeof(MatrixOptions) },
        { "Payments", typeof(PaymentsOptions) },
        { "Payments:Lnd", typeof(LndOptions) },
        { "Payments:BtcPay", typeof(BtcPayOptions) },
        { "Storage", typeof(StorageOptions) },
        { "Inbox", typeof(Doorman.Inbox.InboxOptions) },
        { "Http", typeof(HttpOptions) },
        { "Limits", typeof(Doorman.Commands.LimitsOptions) },
    };

    [Theory]
    [MemberData(nameof(Sections))]
    public void Every_setting_is_in_the_example_and_binds(string section, Type options)
    {
        var configuration = Example().GetSection(section);
        foreach (var property in options.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.CanWrite))
            Assert.True(configuration.GetSection(property.Name).Exists(), $"{section}:{property.Name} is not in appsettings.example.json");
        Assert.NotNull(configuration.Get(options));
    }

    [Fact]
    public void Operators_are_in_the_example() => Assert.True(Example().GetSection("Operators").Exists());
}
