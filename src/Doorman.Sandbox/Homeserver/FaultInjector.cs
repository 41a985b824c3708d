namespace Doorman.Sandbox.Homeserver;

/// <summary>Scripted failures: the next N requests whose path contains a string fail before anything else runs.</summary>
internal sealed class FaultInjector
{
    private readonly Lock _gate = new();
    private readonly List<Fault> _faults = [];

    public void FailNext(string pathContains, int statusCode, int count)
    {
        lock (_gate)
        {
            _faults.Add(new Fault(pathContains, statusCode) { Remaining = count });
        }
    }

    public void Clear()
    {
        lock (_gate)
        {
            _faults.Clear();
        }
    }

    /// <summary>The status to fail this request with (0 = drop the connection), or null to serve it.</summary>
    public int? TakeFor(string path)
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
            return fault.StatusCode;
        }
    }

    private sealed record Fault(string PathContains, int StatusCode)
    {
        public int Remaining { get; set; }
    }
}
