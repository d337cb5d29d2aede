// Longer than 400 lines: one test per item in which classic reproduces the reference (reflection, merge, trajectories, step buffer, epoch comparison, slow update, meta skill, promotion), all sharing one scripted training helper.
using System.Text.RegularExpressions;
using Microsoft.Extensions.AI;
using SkillOpt.Core.Accounting;
using SkillOpt.Core.Configuration;
using SkillOpt.Core.Edits;
using SkillOpt.Core.Harness;
using SkillOpt.Core.Optimization;
using SkillOpt.Core.Rollouts;
using SkillOpt.Core.Runs;
using SkillOpt.Core.Skills;
using SkillOpt.Core.Training;

namespace SkillOpt.Core.Tests.Training;

/// <summary>The classic preset reproduces the reference (microsoft/SkillOpt bdfdc30) item by item; the default preset does not.</summary>
public class ClassicPresetTests
{
    private static string NewFolder() => Path.Combine(Path.GetTempPath(), "skillopt-tests", Guid.NewGuid().ToString("N"));

    /// <summary>
    /// The default preset's own loop (a paired gate), which keeps none of the reference's behaviours; with its strict gate the
    /// default preset runs the reference's loop, as <see cref="ReferenceSettings.ReferenceLoop"/> lists.
    /// </summary>
    private static SkillOptOptions OwnLoop() => HarnessConfig.Options("posterior");

    private static SkillOptOptions Classic(string extra = "", int epochs = 3) =>
        SkillOptConfigLoader.Parse($"preset: classic\nseed: 7\ntraining:\n  epochs: {epochs}\n  batch_size: 10\n  minibatch_size: 4\n" + extra, "c.yaml");

    /// <summary>Answers every request with the same reply and keeps the user prompts.</summary>
    private sealed class FixedReplyClient(string reply) : IChatClient
    {
        public List<string> Prompts { get; } = [];

        public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
        {
            lock (Prompts)
            {
                Prompts.Add(messages.Last(m => m.Role == ChatRole.User).Text);
            }
            return Task.FromResult(new ChatResponse(new ChatMessage(ChatRole.Assistant, reply)));
        }

        public IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) => throw new NotSupportedException();
        public object? GetService(Type serviceType, object? serviceKey = null) => null;
        public void Dispose() { }
    }

    private sealed record Run(RunSummary Summary, string Folder, ScriptedOptimizer Optimizer, List<RolloutRequest> Requests, List<HistoryRecord> History);

    private static async Task<Run> TrainAsync(SkillOptOptions options, ScriptedOptimizer? optimizer = null)
    {
        var folder = NewFolder();
        optimizer ??= new ScriptedOptimizer();
        var requests = new List<RolloutRequest>();
        var runner = new ScriptedRunner(onRequest: r => { lock (requests) { requests.Add(r); } });
        var summary = await new SkillTrainingLoop(options, runner, optimizer, folder).RunAsync(HarnessConfig.InitialSkill, new ScriptedWorld().Splits(), TestContext.Current.CancellationToken);
        return new Run(summary, folder, optimizer, requests, AtomicFile.ReadJson<List<HistoryRecord>>(Path.Combine(folder, "history.json"))!);
    }

    private static List<string> PromptsOf(Run run, string schema) => [.. run.Optimizer.Requests.Where(r => r.Schema == schema).Select(r => r.Prompt)];

    private static List<int> AskedEdits(IEnumerable<string> reflections) => [.. reflections.Select(p => int.Parse(Regex.Match(p, @"at most (\d+) edits").Groups[1].Value))];

    // 1. reflection asks for the configured L at every step; L_t is only the ranking's budget

    [Fact]
    public async Task Classic_reflection_asks_for_the_configured_most_edits_at_every_step_and_default_for_the_learning_rate()
    {
        var classic = await TrainAsync(Classic());
        Assert.All(AskedEdits(PromptsOf(classic, "skillopt_reflection")), n => Assert.Equal(4, n));
        Assert.Contains(classic.History, h => h.Kind == "step" && h.LearningRate < 4); // the schedule did fall below L

        var def = await TrainAsync(OwnLoop());
        Assert.Contains(2, AskedEdits(PromptsOf(def, "skillopt_reflection")));
    }

    // 2. merges are uncapped

    [Fact]
    public async Task Classic_merges_ask_for_no_number_of_edits_and_default_merges_are_capped()
    {
        var classic = await TrainAsync(Classic());
        var merges = PromptsOf(classic, "skillopt_merge");
        Assert.NotEmpty(merges);
        Assert.All(merges, p => Assert.DoesNotContain("Return at most", p));

        var def = await TrainAsync(OwnLoop());
        Assert.All(PromptsOf(def, "skillopt_merge"), p => Assert.Matches(@"Return at most\n\d+ edits\.", p));
    }

    [Fact]
    public async Task An_uncapped_merge_keeps_every_edit_it_returns()
    {
        var client = new FixedReplyClient("""{"edits":[{"op":"append","target":null,"content":"- a","rationale":"r"},{"op":"append","target":null,"content":"- b","rationale":"r"},{"op":"append","target":null,"content":"- c","rationale":"r"}]}""");
        var model = new OptimizerModel(new StructuredCaller(client, null, new StageUsageTracker(), new ReplyFailureCounter()), 1);
        IReadOnlyList<SkillEdit> Patch(string content) => [new(EditOperation.Append, null, content, null)];
        var capped = await model.MergeAsync("# s\n", [Patch("- a"), Patch("- b"), Patch("- c")], [], 8, 1, "", TestContext.Current.CancellationToken);
        var uncapped = await model.MergeAsync("# s\n", [Patch("- a"), Patch("- b")], [], 8, (int?)null, "", TestContext.Current.CancellationToken);
        Assert.Equal("- a", Assert.Single(capped.Edits).Content);
        Assert.Equal(["- a", "- b", "- c"], uncapped.Edits.Select(e => e.Content)); // no cap, and no re-ask for more edits than received: the reference checks neither
        Assert.Equal(2, client.Prompts.Count);
        Assert.Contains("Return at most\n1 edits.", client.Prompts[0]);
        Assert.DoesNotContain("Return at most", client.Prompts[1]);
    }

    // 3. verifier text and gold answers are shown; 4. messages are sent whole

    [Fact]
    public async Task Classic_shows_verifier_text_and_gold_answers_to_the_optimizer()
    {
        var classic = await TrainAsync(Classic());
        var reflections = PromptsOf(classic, "skillopt_reflection");
        Assert.Contains(reflections, p => p.Contains("expected the [", StringComparison.Ordinal) && Regex.IsMatch(p, @"(?<![0-9])1041(?![0-9])"));
        Assert.DoesNotContain(reflections, p => p.Contains(VerifierLeakGuard.Redaction, StringComparison.Ordinal));
        // and, like the reference's analysts, each trajectory with the system prompt the target saw (the skill, again)
        Assert.All(reflections, p => Assert.Contains("- **system**: # Math skill", p));

        var def = await TrainAsync(OwnLoop());
        Assert.All(PromptsOf(def, "skillopt_reflection"), p => Assert.DoesNotContain("- **system**", p));
    }

    // the reference's selection cache: a skill validated once is never validated again

    [Fact]
    public async Task Classic_judges_a_candidate_validated_before_on_its_stored_validation()
    {
        var classic = await TrainAsync(Classic());
        var gated = classic.History.Where(h => h.Kind == "step" && h.Validation is not null).Select(h => h.CandidateHash!).ToList();
        Assert.True(gated.Count > gated.Distinct().Count(), "no candidate was proposed twice"); // the harmful edit, re-proposed (not enforced in classic)
        var validated = classic.Requests.Where(r => r.Stage == ChatStage.Validate).GroupBy(r => r.SkillHash).ToList();
        Assert.All(validated, g => Assert.Single(g)); // each skill's validation was paid once
    }

    [Fact]
    public async Task Classic_sends_trajectory_messages_whole_and_default_cuts_them_at_2000_characters()
    {
        var client = new FixedReplyClient("""{"analysis":"a","edits":[]}""");
        var model = new OptimizerModel(new StructuredCaller(client, null, new StageUsageTracker(), new ReplyFailureCounter()), 1);
        var longAnswer = new string('x', 5000) + "END";
        var failed = new RolloutResult
        {
            TaskId = "t1", Outcome = TaskOutcome.Failed, Score = 0, Reason = "wrong",
            Transcript = [new TranscriptMessage("user", "q"), new TranscriptMessage("assistant", longAnswer)],
        };
        await model.ReflectAsync(new ReflectionRequest("# s\n", [failed], [], 8, 4, "", "", ReferenceSettings.Classic.MessageChars), TestContext.Current.CancellationToken);
        await model.ReflectAsync(new ReflectionRequest("# s\n", [failed], [], 8, 4, "", "", ReferenceSettings.Default.MessageChars), TestContext.Current.CancellationToken);
        Assert.Contains(longAnswer, client.Prompts[0]);
        Assert.DoesNotContain("END", client.Prompts[1]);
        Assert.Contains("[3003 more characters]", client.Prompts[1]);
    }

    // 5. the per-epoch step buffer

    [Fact]
    public void The_step_buffer_shows_an_epochs_gated_steps_with_patterns_and_rejected_edits_as_the_reference_formats_them()
    {
        var results = new[]
        {
            Result("a", TaskOutcome.Failed, "Assert.Equal() Failure: Values differ"),
            Result("b", TaskOutcome.Passed, null),
            Result("c", TaskOutcome.Failed, "Timeout: no answer"),
            Result("d", TaskOutcome.Failed, "Assert.Equal() Failure: other"),
            Result("e", TaskOutcome.Failed, null),
        };
        // groups by the reason's text before the first colon, in order; the i-th group takes the i-th analyst description
        var patterns = StepBuffer.FailurePatterns(results, ["missing units: no unit conversion"]);
        Assert.Equal(
            [("missing units: no unit conversion", 2, "a,d"), ("Timeout", 1, "c"), ("unknown", 1, "e")],
            patterns.Select(p => (p.Pattern, p.Count, string.Join(",", p.TaskIds))));

        var buffer = new StepBuffer();
        buffer.Add(new StepBufferEntry(1, 1, 1, "accept_new_best", 4, 5, patterns, null, null, []));
        buffer.Add(new StepBufferEntry(2, 1, 2, "reject", 2, 5, [new FailurePattern("Timeout", 2, ["c", "f"])], 0.6, 0.55,
            StepBuffer.Describe([new(EditOperation.InsertAfter, "## Steps", "- Skip\nthe check", null), new(EditOperation.Append, null, "- Be fast", null)])));
        buffer.Add(new StepBufferEntry(3, 1, 3, "reject", 1, 5, [], 0.6, 0.25, StepBuffer.Describe([new(EditOperation.Append, null, "- Guess", null)]), 4, 60, 56));
        buffer.Add(new StepBufferEntry(4, 1, 4, "reject", 1, 5, [], 0.6, 0.5, StepBuffer.Describe([new(EditOperation.Append, null, "- Hurry", null)]), 58, 60, 0));
        buffer.Add(new StepBufferEntry(5, 2, 5, "reject", 1, 5, [], 0.7, 0.7, []));

        Assert.Equal("""

            ## Earlier steps of this epoch

            What happened at each earlier step of this epoch: use it to avoid repeating edits that did not work and to go after the failure patterns that remain.

            ### Step 1 — ACCEPT_NEW_BEST (4/5 failed)
            - "missing units: no unit conversion" (×2, tasks: a, d)
            - "Timeout" (×1, tasks: c)
            - "unknown" (×1, tasks: e)

            ### Step 2 — REJECT (2/5 failed)
            - "Timeout" (×2, tasks: c, f)
            - Rejected edits (validation score 0.6 → 0.55):
              1. [insert_after] target="## Steps" → "- Skip the check"
              2. [append] "- Be fast"

            ### Step 3 — REJECT (1/5 failed)
            - Rejected edits (validation score 0.6 → 0.25 on 4 of 60 validation tasks, where scoring stopped: it could not, or was unlikely to, end above):
              1. [append] "- Guess"

            ### Step 4 — REJECT (1/5 failed)
            - Rejected edits (validation score 0.6 → 0.5 on 58 of 60 validation tasks):
              1. [append] "- Hurry"

            """, buffer.Format(1));
        Assert.Contains("### Step 5 — REJECT (1/5 failed)", buffer.Format(2));
        Assert.Equal("", buffer.Format(3));

        buffer.RollBackTo(2);
        Assert.Single(buffer.Entries);
    }

    [Fact]
    public async Task Classic_records_every_gated_step_in_the_step_buffer_and_shows_it_to_later_steps_of_the_same_epoch()
    {
        var classic = await TrainAsync(Classic());
        var entries = AtomicFile.ReadJson<StepBufferFileView>(Path.Combine(classic.Folder, "step_buffer.json"))!.Entries;
        var gated = classic.History.Where(h => h.Kind == "step" && h.Action is "accept" or "reject" or "inconclusive").ToList();
        Assert.Equal(gated.Select(h => h.Step!.Value), entries.Select(e => e.Step));
        Assert.All(entries.Zip(gated), x => Assert.StartsWith(x.Second.Action, x.First.Action, StringComparison.Ordinal));
        var rejected = entries.First(e => e.Action == "reject");
        Assert.NotEmpty(rejected.RejectedEdits);
        Assert.NotNull(rejected.ScoreBefore);

        // each step's analysts (of failures and of successes) see the gated steps of its epoch before it
        Assert.Contains(PromptsOf(classic, "skillopt_reflection"), p => p.Contains("## Earlier steps of this epoch", StringComparison.Ordinal)
            && p.Contains("REJECT (", StringComparison.Ordinal) && p.Contains(ScriptedWorld.HarmfulPhrase, StringComparison.Ordinal));
        Assert.All(PromptsOf(classic, "skillopt_reflection"), p => Assert.DoesNotContain("## Edits already tried and rejected", p));
        // the buffer is the epoch's: the first reflections of the run and of epoch 3 (right after epoch 2's meta skill) show none
        var requests = classic.Optimizer.Requests;
        Assert.DoesNotContain("## Earlier steps of this epoch", requests.First(r => r.Schema == "skillopt_reflection").Prompt);
        var afterEpoch2 = requests.Skip(requests.FindIndex(r => r.Schema == "skillopt_meta_skill") + 1).First(r => r.Schema == "skillopt_reflection");
        Assert.DoesNotContain("## Earlier steps of this epoch", afterEpoch2.Prompt);

        var def = await TrainAsync(OwnLoop());
        Assert.False(File.Exists(Path.Combine(def.Folder, "step_buffer.json")));
        Assert.DoesNotContain(PromptsOf(def, "skillopt_reflection"), p => p.Contains("## Earlier steps of this epoch", StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_default_presets_step_buffer_shows_a_stopped_candidates_score_with_the_tasks_it_is_on()
    {
        // the default preset with its strict gate runs the reference's loop, step buffer included, and stops futile candidates
        var run = await TrainAsync(HarnessConfig.Options());
        var entries = AtomicFile.ReadJson<StepBufferFileView>(Path.Combine(run.Folder, "step_buffer.json"))!.Entries;
        var stopped = entries.First(e => e.Action == "reject" && e.TasksSkipped > 0);
        var step = run.History.Single(h => h.Kind == "step" && h.Step == stopped.Step);
        Assert.Equal(step.Validation!.Tasks, stopped.TasksScored);
        Assert.Equal(step.Validation.Tasks + step.Validation.Errored + step.Validation.TasksSkipped, stopped.ValidationTasks);
        Assert.True(stopped.TasksScored < stopped.ValidationTasks);
        var shown = $"→ {stopped.ScoreAfter!.Value.ToString("0.####", System.Globalization.CultureInfo.InvariantCulture)} on {stopped.TasksScored} of {stopped.ValidationTasks} validation tasks, where scoring stopped";
        Assert.Contains(PromptsOf(run, "skillopt_reflection"), p => p.Contains(shown, StringComparison.Ordinal));
        // classic scores every candidate on the whole split, so its buffer never qualifies a score
        var classic = await TrainAsync(Classic());
        Assert.DoesNotContain(PromptsOf(classic, "skillopt_reflection"), p => p.Contains("validation tasks, where scoring stopped", StringComparison.Ordinal));
    }

    // 6. the meta skill's input, and the meta skill in ranking

    [Fact]
    public async Task Classic_meta_skill_sees_both_skills_the_comparison_and_the_previous_meta_skill()
    {
        var classic = await TrainAsync(Classic());
        var metas = PromptsOf(classic, "skillopt_meta_skill");
        Assert.Equal(2, metas.Count); // epochs 2 and 3
        Assert.All(metas, p =>
        {
            Assert.Contains("## Skill at the end of the previous epoch", p);
            Assert.Contains("## Skill at the end of this epoch's last step", p);
            Assert.Contains("Tasks compared: 20.", p);
            Assert.DoesNotContain("decisions", p, StringComparison.OrdinalIgnoreCase);
        });
        Assert.Contains("(none: this is the first update)", metas[0]);
        Assert.Contains("Edits that name a missing procedure were accepted", metas[1]); // epoch 2's advice, shown to epoch 3's meta skill

        // the comparison is the slow update's, not rolled out again
        var epoch2 = File.ReadAllText(Path.Combine(classic.Folder, "steps", "epoch_02_slow_update", "comparison.md"));
        Assert.Contains(epoch2.TrimEnd(), metas[0]);
        Assert.False(File.Exists(Path.Combine(classic.Folder, "steps", "epoch_02_meta_skill", "comparison.md")));
    }

    [Fact]
    public async Task Without_a_slow_update_the_classic_meta_skill_rolls_out_its_own_comparison()
    {
        var classic = await TrainAsync(Classic("  slow_update:\n    enabled: false\n"));
        Assert.True(File.Exists(Path.Combine(classic.Folder, "steps", "epoch_02_meta_skill", "comparison.md")));
        Assert.Equal(2 * 2, classic.Requests.Count(r => r.Stage == ChatStage.SlowUpdateRollout)); // both sides, epochs 2 and 3
    }

    [Fact]
    public async Task Ranking_shows_the_meta_skill_when_asked_and_nothing_more_when_there_is_none()
    {
        var client = new FixedReplyClient("""{"selected":[2],"reason":"r"}""");
        var model = new OptimizerModel(new StructuredCaller(client, null, new StageUsageTracker(), new ReplyFailureCounter()), 1);
        IReadOnlyList<SkillEdit> edits = [new(EditOperation.Append, null, "- a", null), new(EditOperation.Append, null, "- b", null)];
        var (selected, _) = await model.RankAsync("# s\n", edits, 1, "Prefer concrete procedures.", TestContext.Current.CancellationToken);
        await model.RankAsync("# s\n", edits, 1, TestContext.Current.CancellationToken);
        Assert.Equal("- b", Assert.Single(selected).Content);
        Assert.Contains("## Advice from earlier epochs\n\nPrefer concrete procedures.\n", client.Prompts[0]);
        Assert.Contains("in order of priority.\n\n## Current skill", client.Prompts[1]);
    }

    // 7. the slow update's input; both skills rolled out even when equal

    [Fact]
    public async Task Classic_slow_update_sees_the_previous_guidance_and_trajectories_without_a_word_limit()
    {
        var classic = await TrainAsync(Classic());
        var slow = PromptsOf(classic, "skillopt_slow_update");
        Assert.Equal(2, slow.Count);
        Assert.All(slow, p =>
        {
            Assert.Contains("## Previous guidance", p);
            Assert.Contains("### Regressed (passed before, fails now): highest priority", p);
            Assert.DoesNotMatch(@"at most\s+\d+\s+words", p);
        });
        Assert.Contains("(none: this is the first slow update)", slow[0]); // epoch 1 left an empty block
        Assert.Contains("This guidance was in the skill during the current epoch.\n\nKeep applying every procedure the task needs.", slow[1]);

        var options = OwnLoop();
        options.Training.SlowUpdate.SkipUnchanged = false;
        var def = await TrainAsync(options);
        var defaultSlow = PromptsOf(def, "skillopt_slow_update");
        Assert.NotEmpty(defaultSlow);
        Assert.All(defaultSlow, p => Assert.Matches(@"at most\s+150\s+words", p));
    }

    [Fact]
    public void The_epoch_comparison_lists_every_category_and_shows_whole_trajectories_of_all_but_the_stable_successes()
    {
        var longReply = new string('y', 3000) + " #### 41";
        RolloutResult R(string id, bool passed, string answer) => new()
        {
            TaskId = id, Outcome = passed ? TaskOutcome.Passed : TaskOutcome.Failed, Score = passed ? 1 : 0, Reason = passed ? null : $"Expected: 42, got {answer}",
            FinalAnswer = answer, Transcript = [new TranscriptMessage("system", "skill"), new TranscriptMessage("user", $"Question {id}"), new TranscriptMessage("assistant", passed ? "42" : longReply)],
        };
        var before = new Evaluation("p", 1, [R("up", false, "41"), R("down", true, "42"), R("stuck", false, "41"), R("fine", true, "42")]);
        var after = new Evaluation("c", 2, [R("up", true, "42"), R("down", false, "41"), R("stuck", false, "41"), R("fine", true, "42")]);
        var text = EpochComparison.Format(before, after, int.MaxValue);

        Assert.StartsWith("Tasks compared: 4. Improved: 1. Regressed: 1. Still failing: 1. Still passing: 1.\n", text);
        var order = new[] { "### Regressed", "- down: regressed", "### Still failing", "- stuck: still failing", "### Improved", "- up: improved", "### Still passing", "- fine: still passing" }
            .Select(x => text.IndexOf(x, StringComparison.Ordinal)).ToList();
        Assert.DoesNotContain(-1, order);
        Assert.Equal(order.Order(), order);
        Assert.Contains("  - previous epoch: PASS (score 1), answer: 42\n  - current: FAIL (score 0), answer: 41; failure reason: Expected: 42, got 41\n", text);
        Assert.Equal(3, Regex.Matches(text, "Previous epoch's trajectory:").Count); // not for the stable success
        Assert.Contains(longReply, text);                                              // messages whole
        Assert.DoesNotContain("- **system**", text);                                   // the skill is not repeated per trajectory
        Assert.DoesNotContain(longReply, EpochComparison.Format(before, after, 2000));
    }

    [Fact]
    public async Task Classic_rolls_out_both_skills_on_independent_samples_even_when_they_are_equal()
    {
        // the scripted world is learnt in epoch 1 and epoch 2 accepts nothing, so its slow update compares a skill with itself
        var classic = await TrainAsync(Classic());
        Assert.Equal(classic.History.Single(h => h.Kind == "slow_update" && h.Epoch == 1).CurrentHash,
            classic.History.Last(h => h.Kind == "step" && h.Epoch == 2).CurrentHash);
        var slowRollouts = classic.Requests.Where(r => r.Stage == ChatStage.SlowUpdateRollout).ToList();
        Assert.Equal([100_002, 300_002, 100_003, 300_003], slowRollouts.Select(r => r.SampleIndex));
        Assert.Equal(slowRollouts[0].SkillHash, slowRollouts[1].SkillHash);

        var options = OwnLoop();
        options.Training.SlowUpdate.SkipUnchanged = false;
        var def = await TrainAsync(options);
        Assert.True(def.Requests.Count(r => r.Stage == ChatStage.SlowUpdateRollout) < slowRollouts.Count);
    }

    // 8. the empty placeholder after epoch 1, and the final skill's promotion on a strictly higher score

    [Fact]
    public async Task Classic_adds_an_empty_guidance_block_after_epoch_1_without_validation()
    {
        var classic = await TrainAsync(Classic());
        var placeholder = Assert.Single(classic.History, h => h.Kind == "slow_update" && h.Epoch == 1);
        Assert.Equal("placeholder", placeholder.Action);
        var skill = new RunStore(classic.Folder).ReadSkill(placeholder.CurrentHash);
        Assert.Equal("", SkillDocument.Parse(skill).SlowUpdateGuidance);
        Assert.Null(placeholder.Validation);

        var def = await TrainAsync(OwnLoop());
        Assert.DoesNotContain(def.History, h => h.Kind == "slow_update" && h.Epoch == 1);
    }

    [Fact]
    public async Task Classic_validates_a_final_skill_that_differs_from_the_best_and_promotes_it_only_on_a_higher_score()
    {
        // the ungated slow update teaches every procedure the steps did not: the final skill beats the best on validation
        // (two epochs of one edit a step: 4 of the 5 procedures at most)
        var better = await TrainAsync(Classic("  learning_rate:\n    max: 1\n    min: 1\n", epochs: 2),
            new ScriptedOptimizer { SlowUpdateGuidance = string.Join("\n", ScriptedWorld.Procedures.Select(p => $"- Apply the [{p}] procedure.")) });
        var test = better.History.Single(h => h.Kind == "test");
        Assert.Equal("final", test.Validation!.Gate);
        Assert.True(test.Validation.CandidateScore > test.Validation.IncumbentScore);
        Assert.Contains("promoted to best", test.Reason);
        Assert.Equal(better.Summary.Final.Hash, better.Summary.Best.Hash);
        Assert.Equal(1.0, better.Summary.Best.Test);

        // guidance that changes nothing: equal scores, strict > keeps the best
        var equal = await TrainAsync(Classic());
        var t2 = equal.History.Single(h => h.Kind == "test");
        Assert.Equal(t2.Validation!.IncumbentScore, t2.Validation.CandidateScore);
        Assert.Contains("not promoted", t2.Reason);
        Assert.NotEqual(equal.Summary.Final.Hash, equal.Summary.Best.Hash);
    }

    // 10. the scheduler advances only on steps that reach selection

    [Fact]
    public void The_schedule_position_counts_only_steps_that_reached_selection_in_classic()
    {
        HistoryRecord Step(int step, int failurePatches, int successPatches) =>
            new() { Kind = "step", Step = step, Epoch = 1, Action = "reject", CurrentHash = "h", FailurePatches = failurePatches, SuccessPatches = successPatches };
        List<HistoryRecord> history = [new() { Kind = "baseline", Action = "none", CurrentHash = "h" }, Step(1, 1, 0), Step(2, 0, 0), Step(3, 0, 2), Step(4, 0, 0)];
        var phase = new Phase(5, PhaseKind.Step, 1, 5, 4);
        Assert.Equal(3, StepPhase.SchedulePosition(history, phase, scheduleOnSelection: true));
        Assert.Equal(5, StepPhase.SchedulePosition(history, phase, scheduleOnSelection: false));
    }

    [Fact]
    public async Task Classic_steps_without_a_proposed_edit_do_not_advance_the_learning_rate()
    {
        // without reflection on successes, steps whose batch fully passes propose nothing
        var options = Classic("  reflect_successes: false\n  learning_rate:\n    schedule: linear\n    max: 4\n    min: 1\n", epochs: 4);
        var run = await TrainAsync(options);
        var steps = run.History.Where(h => h.Kind == "step").OrderBy(h => h.Step).ToList();
        var schedule = LearningRateSchedule.Create("linear", 4, 1);
        var reached = 0;
        foreach (var h in steps)
        {
            Assert.Equal(schedule.BudgetAt(reached + 1, steps.Count), h.LearningRate);
            reached += h.FailurePatches + h.SuccessPatches > 0 ? 1 : 0;
        }
        Assert.Contains(steps, h => h.FailurePatches + h.SuccessPatches == 0); // the rule made a difference
        Assert.Contains(steps, h => h.LearningRate != schedule.BudgetAt(h.Step!.Value, steps.Count));
    }

    private static RolloutResult Result(string id, TaskOutcome outcome, string? reason) =>
        new() { TaskId = id, Outcome = outcome, Score = outcome == TaskOutcome.Passed ? 1 : 0, Reason = reason, Transcript = [] };

    private sealed record StepBufferFileView(int SchemaVersion, List<StepBufferEntry> Entries);
}
