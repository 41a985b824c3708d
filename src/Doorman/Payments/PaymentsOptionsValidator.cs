using Doorman.Access;
using Microsoft.Extensions.Options;

namespace Doorman.Payments;

/// <summary>Checks <c>Payments:Backend</c> and <c>Payments:InvoiceExpiry</c>; the backends check their own sections.</summary>
public sealed class PaymentsOptionsValidator : IValidateOptions<PaymentsOptions>
{
    public ValidateOptionsResult Validate(string? name, PaymentsOptions options)
    {
        var problems = new List<string>();
        if (options.Backend is not { } backend
            || !(backend.Equals("Lnd", StringComparison.OrdinalIgnoreCase) || backend.Equals("BtcPay", StringComparison.OrdinalIgnoreCase)))
            problems.Add($"Payments:Backend “{options.Backend}” is not supported: use Lnd or BtcPay");
        if (options.InvoiceExpiry < TimeSpan.FromMinutes(1) || options.InvoiceExpiry > TimeSpan.FromDays(7))
            problems.Add("Payments:InvoiceExpiry must be between 00:01:00 and 7.00:00:00 (hh:mm:ss)");
        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }
}
