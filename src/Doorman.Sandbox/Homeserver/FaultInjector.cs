namespace Doorman.Sandbox.Homeserver;

/// <summary>Scripted failures: the next N requests whose path contains a string fail before anything else runs.</summary>
internal sealed class FaultInjector
{
    private readonly Lock _gate = new();
    private readonly List<Fault> _faults = [];

    public void FailNext(string pathContains, int statusCode, int count, string errorCode = "M_UNKNOWN", string error = "Injected fault")
    {
        lock (_gate)
        {
            _faults.Add(new Fault(pathContains, statusCode, errorCode, error) { Remaining = count });
        }
    }

    public void Clear()
    {
        lock (_gate)
        {
            _faults.Clear();
        }
    }

    /// <summary>The failure for this request (status 0 = drop the connection), or null to serve it.</summary>
    public InjectedFault? TakeFor(string path)
    {
        lock (_gate)
        {
            var fault = _faults.FirstOrDefault(f => f.Remaining > 0 && path.Contains(f.PathContains, StringComparison.Ordinal));
            if (fault is null)
            {
                return null;
            }

            fault.Remaining--;
            _faults.RemoveAll(f => f.Remaining <= 0);
            return new InjectedFault(fault.StatusCode, fault.ErrorCode, fault.Error);
        }
    }

    private sealed record Fault(string PathContains, int StatusCode, string ErrorCode, string Error)
    {
        public int Remaining { get; set; }
    }
}

/// <summary>A scripted failure: the status (0 = drop the connection) and the standard error body's errcode and error.</summary>
internal sealed record InjectedFault(int StatusCode, string ErrorCode, string Error);
