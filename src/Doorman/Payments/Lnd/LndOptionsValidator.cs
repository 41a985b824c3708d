using Microsoft.Extensions.Options;

namespace Doorman.Payments.Lnd;

/// <summary>Reports every problem in <see cref="LndOptions"/> at once, each naming its configuration key.</summary>
/// <param name="sectionPath">The bound section's path, e.g. "Payments:Lnd".</param>
internal sealed class LndOptionsValidator(string sectionPath) : IValidateOptions<LndOptions>
{
    public ValidateOptionsResult Validate(string? name, LndOptions options)
    {
        var errors = new List<string>();
        LndConnectionSettings.Resolve(options, sectionPath, errors);
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
