using System.Runtime.InteropServices;
using SkillOpt.Core.Processes;

namespace SkillOpt.Tests.Shared;

/// <summary>Ctrl+C for test processes (Linux and macOS): send SIGINT, and start children so that a SIGINT can reach them. Linked into the test projects that need it.</summary>
internal static class Signals
{
    private static readonly object SignalGate = new();

    /// <summary>Sends SIGINT (what Ctrl+C sends) to one process.</summary>
    /// <exception cref="InvalidOperationException">The process was not started, or kill(2) failed.</exception>
    public static void Interrupt(ChildProcess process) => Send(process, 2, "SIGINT");

    /// <summary>Sends SIGTERM (what CI runners and `kill` send) to one process.</summary>
    /// <exception cref="InvalidOperationException">The process was not started, or kill(2) failed.</exception>
    public static void Terminate(ChildProcess process) => Send(process, 15, "SIGTERM");

    private static void Send(ChildProcess process, int signal, string name)
    {
        var pid = process.Id ?? throw new InvalidOperationException($"kill({name}): the process was not started.");
        if (sys_kill(pid, signal) != 0)
        {
            throw new InvalidOperationException($"kill({name}) failed: {Marshal.GetLastPInvokeError()}");
        }
    }

    /// <summary>
    /// Starts the process so that a SIGINT can reach it. A process started in the background by a shell without job control
    /// ignores SIGINT, its children inherit that, and the .NET runtime then never sees a Ctrl+C. So when this process
    /// ignores SIGINT (Linux: <c>SigIgn</c> in /proc/self/status), the default disposition is put back for the moment of
    /// the start, and the child inherits that instead.
    /// </summary>
    public static void StartWithInterruptsDeliverable(ChildProcess process)
    {
        if (!SigIntIgnored())
        {
            process.Start();
            return;
        }
        lock (SignalGate)
        {
            var previous = sys_signal(2, IntPtr.Zero); // SIG_DFL
            try
            {
                process.Start();
            }
            finally
            {
                sys_signal(2, previous); // back to SIG_IGN
            }
        }
    }

    /// <summary>True when this process ignores SIGINT (read from /proc/self/status on Linux; false elsewhere).</summary>
    public static bool SigIntIgnored()
    {
        if (!OperatingSystem.IsLinux())
        {
            return false;
        }
        var line = File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith("SigIgn:", StringComparison.Ordinal));
        return line is not null && ulong.TryParse(line["SigIgn:".Length..].Trim(), System.Globalization.NumberStyles.HexNumber, null, out var mask) && (mask & 0x2) != 0;
    }

    [DllImport("libc", EntryPoint = "signal", SetLastError = true)]
    private static extern IntPtr sys_signal(int signal, IntPtr handler);

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int sys_kill(int pid, int signal);
}
