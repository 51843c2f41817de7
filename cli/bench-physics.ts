/** `simreal bench physics`: physics speed, stability and scaling, against MuJoCo in the same run. */
import type { Command } from 'commander';
import { benchPhysics } from '../sim/bench/physics.ts';
import type { CommandModule } from './command-module.ts';
import { parseIntOption } from './options.ts';

export const benchPhysicsCommand: CommandModule = {
  register(_program: Command, bench: Command) {
    bench
      .command('physics')
      .description('Physics steps/s on the stack-3 scene vs MuJoCo (same run), tower and grasp stability, worker scaling, memory per environment.')
      .option('--json', 'print one JSON object on the last line')
      .option('--steps <n>', 'timed physics steps per engine', '60000')
      .option('--stack-seconds <s>', 'seconds the resting 5-block tower is simulated', '60')
      .action(async (flags: { json?: boolean; steps: string; stackSeconds: string }) => {
        const r = await benchPhysics({
          steps: parseIntOption('--steps', flags.steps, 2400),
          stackSeconds: parseIntOption('--stack-seconds', flags.stackSeconds, 1),
          log: (l) => process.stderr.write(`${l}\n`),
        });
        if (!flags.json) {
          const s = r.stability;
          process.stdout.write(
            [
              `physics steps/s   simreal ${r.simreal.physics_steps_per_s}   MuJoCo ${r.mujoco.physics_steps_per_s}   ratio ${r.ratio_vs_mujoco}x`,
              `control steps/s   simreal ${r.simreal.control_steps_per_s} (whole env with expert: ${r.simreal.env_control_steps_per_s_with_expert})   MuJoCo ${r.mujoco.control_steps_per_s}`,
              `5-block tower     top drift simreal ${s.simreal.top_drift_mm} mm, MuJoCo ${s.mujoco.top_drift_mm} mm, cannon-es defaults ${s.cannon_defaults.top_drift_mm} mm (collapsed at ${s.cannon_defaults.collapsed_at_s ?? '-'} s)`,
              `grasp and carry   slip ${s.grasp.slip_mm} mm`,
              `workers           1: ${r.workers.one_physics_steps_per_s}  2: ${r.workers.two_physics_steps_per_s}  scaling ${r.workers.scaling}x`,
              `memory            ${r.memory.rss_per_env_mb} MB resident per environment`,
              '',
            ].join('\n'),
          );
        }
        process.stdout.write(`${JSON.stringify(r)}\n`);
      });
  },
};
