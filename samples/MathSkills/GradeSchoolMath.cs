namespace MathSkills;

/// <summary>The verifiers of the "math" skill: one task per GSM8K problem.</summary>
public class GradeSchoolMath
{
    public static TheoryData<MathProblem> Problems => MathProblem.Load("data/gsm8k.jsonl");

    [SkillTheory(Skill = "math")]
    [MemberData(nameof(Problems))]
    public async Task Solves(MathProblem problem)
    {
        // The target model, with the current skill as its whole system message, answers the problem as it is.
        var reply = await SkillAgent.Current.RunAsync(problem.Question, TestContext.Current.CancellationToken);
        // A wrong or missing number fails the task (score 0); a provider or infrastructure error makes it Errored.
        SkillAssert.NumberEquals(problem.Answer, reply.FinalAnswer());
    }
}
