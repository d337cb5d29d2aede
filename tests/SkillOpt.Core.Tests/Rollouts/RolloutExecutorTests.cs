using SkillOpt.Core.Rollouts;

namespace SkillOpt.Core.Tests.Rollouts;

public class RolloutExecutorTests
{
    private sealed class FlakyRunner(Func<string, int, RolloutResult> run) : IRolloutRunner
    {
        private readonly Dictionary<string, int> _attempts = [];
        public List<int> BatchSizes { get; } = [];

        public Task<IReadOnlyList<RolloutResult>> RunAsync(RolloutRequest request, CancellationToken cancellationToken)
        {
            BatchSizes.Add(request.TaskIds.Count);
            return Task.FromResult<IReadOnlyList<RolloutResult>>(request.TaskIds.Select(id =>
            {
                _attempts[id] = _attempts.GetValueOrDefault(id) + 1;
                return run(id, _attempts[id]);
            }).ToList());
        }
    }

    private static RolloutResult Pass(string id) => new() { TaskId = id, Outcome = TaskOutcome.Passed, Score = 1 };

    [Fact]
    public async Task Errored_tasks_are_retried_and_then_excluded_from_the_mean()
    {
        var runner = new FlakyRunner((id, attempt) => id == "a" && attempt == 1 ? RolloutResult.Errored(id, "timeout")
            : id == "b" ? RolloutResult.Errored(id, "provider down") : Pass(id));
        var ex = new RolloutExecutor(runner, erroredRetries: 1, maxErrorRate: 0.5);
        var eval = await ex.RunAsync("skill", "h", ["a", "b", "c"], 0, "rollout", CancellationToken.None);
        Assert.Equal([3, 2], runner.BatchSizes); // only the errored tasks are re-run
        Assert.Equal(TaskOutcome.Passed, eval.Results[0].Outcome);
        Assert.Equal(TaskOutcome.Errored, eval.Results[1].Outcome);
        Assert.Equal(1.0, eval.MeanScore); // the errored task is not a zero
        Assert.Equal(2, eval.ScoredCount);
        Assert.Equal(3, ex.ErroredAttempts);
    }

    [Fact]
    public async Task Too_many_errors_stop_the_run_with_the_reasons()
    {
        var runner = new FlakyRunner((id, _) => id == "c" ? Pass(id) : RolloutResult.Errored(id, "HTTP 503 from provider"));
        var ex = new RolloutExecutor(runner, 1, 0.25);
        var err = await Assert.ThrowsAsync<RolloutErrorsException>(() => ex.RunAsync("s", "h", ["a", "b", "c"], 0, "validate", CancellationToken.None));
        Assert.Equal((2, 3), (err.ErroredCount, err.TotalCount));
        Assert.Contains("HTTP 503", err.Message);
        Assert.Contains("validate", err.Message);
    }

    [Fact]
    public async Task A_task_the_runner_forgot_is_errored_not_missing()
    {
        var forgetful = new ForgetfulRunner();
        var eval = await new RolloutExecutor(forgetful, 0, 1).RunAsync("s", "h", ["a", "b"], 0, "rollout", CancellationToken.None);
        Assert.Equal(TaskOutcome.Errored, eval.Results.Single(r => r.TaskId == "b").Outcome);
    }

    private sealed class ForgetfulRunner : IRolloutRunner
    {
        public Task<IReadOnlyList<RolloutResult>> RunAsync(RolloutRequest request, CancellationToken cancellationToken) =>
            Task.FromResult<IReadOnlyList<RolloutResult>>([new RolloutResult { TaskId = request.TaskIds[0], Outcome = TaskOutcome.Passed, Score = 1 }]);
    }
}
