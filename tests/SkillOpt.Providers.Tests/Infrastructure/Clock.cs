using System.Diagnostics;
using Microsoft.Extensions.Time.Testing;

namespace SkillOpt.Providers.Tests.Infrastructure;

/// <summary>Drives <see cref="FakeTimeProvider"/> (Microsoft.Extensions.TimeProvider.Testing) for calls that wait on it.</summary>
public static class Clock
{
    /// <summary>A fake clock at a fixed start.</summary>
    public static FakeTimeProvider Fake() => new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));

    /// <summary>
    /// Runs <paramref name="task"/> to completion, moving the clock forward by <paramref name="step"/> (default 250 ms)
    /// whenever the task has not finished after a short real pause, so backoff delays and timers pass. Gives up after a
    /// generous real-time bound (a hung call, not a slow machine).
    /// </summary>
    public static async Task<T> DriveAsync<T>(this FakeTimeProvider time, Task<T> task, TimeSpan? step = null)
    {
        var by = step ?? TimeSpan.FromMilliseconds(250);
        var sw = Stopwatch.StartNew();
        while (!task.IsCompleted)
        {
            if (sw.Elapsed > TimeSpan.FromMinutes(2))
                throw new TimeoutException($"The call did not complete; the fake clock stands at {time.GetUtcNow():O}.");
            await Task.WhenAny(task, Task.Delay(2, TestContext.Current.CancellationToken));
            if (!task.IsCompleted) time.Advance(by);
        }
        return await task;
    }
}
