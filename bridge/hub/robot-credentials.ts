/**
 * Robot credentials: each robot has its own token, pinned to its id, so that no other client —
 * not a controller holding the hub's main token, not another robot — can register under its id.
 *
 * A robot's token is derived from the hub's *robot key* (a secret only the hub's operator holds,
 * in a file next to the main token) and the robot id:
 *
 *   r1.<robot id>.<base64url(HMAC-SHA256(robot key, "simreal.robot:" + robot id))>
 *
 * The hub keeps no list of robots: it recomputes the MAC for the id in the token and compares in
 * constant time. How a robot gets its credential:
 * - on the hub's machine, `simreal robot emulate|so101` derive it from the robot key file
 *   (`--robot-key-file`, default `~/.config/simreal/robot-key`, which `simreal bridge` creates);
 * - for a robot elsewhere, `simreal robot token --id so101 --out so101.token` on the hub's machine
 *   writes its credential (mode 0600); copy it over and pass `--robot-token-file so101.token`;
 * - code embedding a hub asks it: `bridge.robotToken('emu-1')`.
 * Rotating the robot key revokes every robot credential at once.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { RobotIdSchema } from '../protocol.ts';

export const ROBOT_TOKEN_PREFIX = 'r1.';
const MAC_CONTEXT = 'simreal.robot:';

function mac(robotKey: string, id: string): Buffer {
  return createHmac('sha256', robotKey).update(MAC_CONTEXT + id, 'utf8').digest();
}

/** The credential of robot `id` under `robotKey`. */
export function robotToken(robotKey: string, id: string): string {
  if (!RobotIdSchema.safeParse(id).success) throw new RangeError(`robot id ${JSON.stringify(id)} is not valid (1-64 of [A-Za-z0-9_.-], starting with a letter or digit)`);
  return `${ROBOT_TOKEN_PREFIX}${id}.${mac(robotKey, id).toString('base64url')}`;
}

/** The robot id a token claims, or null if it is not a robot credential at all. */
export function robotIdOf(token: string): string | null {
  if (!token.startsWith(ROBOT_TOKEN_PREFIX)) return null;
  const dot = token.lastIndexOf('.');
  if (dot <= ROBOT_TOKEN_PREFIX.length) return null;
  const id = token.slice(ROBOT_TOKEN_PREFIX.length, dot);
  return RobotIdSchema.safeParse(id).success ? id : null;
}

/** Whether `token` is the credential of the robot it names under `robotKey` (constant time). */
export function verifyRobotToken(robotKey: string, token: string): string | null {
  const id = robotIdOf(token);
  if (id === null) return null;
  const expected = Buffer.from(robotToken(robotKey, id), 'utf8');
  const given = Buffer.from(token, 'utf8');
  if (given.length !== expected.length) return null;
  return timingSafeEqual(given, expected) ? id : null;
}
