using System.Diagnostics;

namespace SkillOpt.Providers.Tests.Infrastructure;

/// <summary>
/// A manual clock: time moves only through <see cref="Advance"/>. Every timer created (Task.Delay, CancellationTokenSource
/// timeouts, Polly's delays) is recorded in <see cref="RequestedDelays"/> and fires when the clock passes its due time.
/// </summary>
public sealed class FakeTimeProvider : TimeProvider
{
    private readonly object _lock = new();
    private readonly List<FakeTimer> _timers = [];
    private readonly List<TimeSpan> _requested = [];
    private DateTimeOffset _now;

    public FakeTimeProvider(DateTimeOffset? start = null) =>
        _now = start ?? new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    public override DateTimeOffset GetUtcNow()
    {
        lock (_lock) return _now;
    }

    public override long GetTimestamp()
    {
        lock (_lock) return _now.UtcTicks;
    }

    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    public override TimeZoneInfo LocalTimeZone => TimeZoneInfo.Utc;

    /// <summary>Every finite due time asked for, in order.</summary>
    public IReadOnlyList<TimeSpan> RequestedDelays
    {
        get { lock (_lock) return _requested.ToList(); }
    }

    /// <summary>Time left on each pending timer.</summary>
    public IReadOnlyList<TimeSpan> PendingDelays
    {
        get { lock (_lock) return _timers.Select(t => t.Due - _now).OrderBy(d => d).ToList(); }
    }

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = new FakeTimer(this, callback, state);
        timer.Change(dueTime, period);
        return timer;
    }

    /// <summary>Moves the clock forward, firing due timers in order.</summary>
    public void Advance(TimeSpan by)
    {
        DateTimeOffset target;
        lock (_lock) target = _now + by;
        while (true)
        {
            FakeTimer? next;
            lock (_lock)
            {
                next = _timers.Where(t => t.Due <= target).OrderBy(t => t.Due).FirstOrDefault();
                if (next is null)
                {
                    _now = target;
                    return;
                }
                _now = next.Due;
                if (next.Period > TimeSpan.Zero && next.Period != Timeout.InfiniteTimeSpan) next.Due += next.Period;
                else _timers.Remove(next);
            }
            next.Fire();
        }
    }

    /// <summary>Advances to the earliest pending timer that is due within <paramref name="maxStep"/>; false when there is none.</summary>
    public bool TryAdvanceToNextTimer(TimeSpan maxStep)
    {
        TimeSpan step;
        lock (_lock)
        {
            var due = _timers.Select(t => t.Due - _now).Where(d => d <= maxStep).OrderBy(d => d).ToList();
            if (due.Count == 0) return false;
            step = due[0] < TimeSpan.Zero ? TimeSpan.Zero : due[0];
        }
        Advance(step);
        return true;
    }

    /// <summary>Waits (in real time, up to 10 s) until a pending timer matches <paramref name="match"/>.</summary>
    public async Task<TimeSpan> WaitForPendingTimerAsync(Func<TimeSpan, bool> match)
    {
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed < TimeSpan.FromSeconds(10))
        {
            var found = PendingDelays.Where(match).ToList();
            if (found.Count > 0) return found[0];
            await Task.Delay(5, TestContext.Current.CancellationToken);
        }
        throw new TimeoutException("No pending timer matched. Pending: " + string.Join(", ", PendingDelays));
    }

    /// <summary>
    /// Runs <paramref name="task"/> to completion, advancing the clock to each pending timer due within
    /// <paramref name="maxStep"/> (so backoff delays pass, but longer timers such as call timeouts do not fire).
    /// </summary>
    public async Task<T> DriveAsync<T>(Task<T> task, TimeSpan? maxStep = null)
    {
        var step = maxStep ?? TimeSpan.FromMinutes(2);
        var sw = Stopwatch.StartNew();
        while (!task.IsCompleted)
        {
            if (sw.Elapsed > TimeSpan.FromSeconds(15))
                throw new TimeoutException("The task did not complete. Pending timers: " + string.Join(", ", PendingDelays));
            if (TryAdvanceToNextTimer(step)) continue;
            await Task.WhenAny(task, Task.Delay(10, TestContext.Current.CancellationToken));
        }
        return await task;
    }

    private void Change(FakeTimer timer, TimeSpan dueTime, TimeSpan period)
    {
        lock (_lock)
        {
            _timers.Remove(timer);
            if (dueTime == Timeout.InfiniteTimeSpan) return;
            _requested.Add(dueTime);
            timer.Due = _now + dueTime;
            timer.Period = period;
            _timers.Add(timer);
        }
    }

    private void Remove(FakeTimer timer)
    {
        lock (_lock) _timers.Remove(timer);
    }

    private sealed class FakeTimer(FakeTimeProvider owner, TimerCallback callback, object? state) : ITimer
    {
        public DateTimeOffset Due { get; set; }

        public TimeSpan Period { get; set; }

        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            owner.Change(this, dueTime, period);
            return true;
        }

        public void Fire() => callback(state);

        public void Dispose() => owner.Remove(this);

        public ValueTask DisposeAsync()
        {
            Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
