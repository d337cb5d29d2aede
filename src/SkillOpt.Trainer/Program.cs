using SkillOpt.Trainer.Commands;
using SkillOpt.Trainer.Console;

return await TrainerCommands.RunAsync(args, TrainerConsole.Standard).ConfigureAwait(false);
