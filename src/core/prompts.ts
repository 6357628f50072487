/**
 * `vars_prompt`: Ansible asks for these variables when a play starts.
 * provision never prompts (its runs are unattended: CI, cron, whole fleets):
 * each value comes from -e (Ansible then skips the prompt too), else from the
 * entry's `default` (what Ansible takes without a terminal); a run where
 * neither gives one is refused before any host is contacted, naming each such
 * variable (Ansible would set it to None). A default is hashed with `encrypt`
 * as password_hash does, and a `private` value (the default) is masked in
 * every output.
 */
import { ValidationError, type ValidationIssue } from '../contract/errors.js';
import { CRYPT_ALGOS, cryptHash, randomSalt } from './crypt.js';
import type { Playbook, VarsPrompt } from './playbook.js';
import type { Secrets } from './secrets.js';

function promptValue(p: VarsPrompt): unknown {
  if (!p.encrypt) return p.default;
  return cryptHash(String(p.default), p.encrypt, p.salt ?? randomSalt(p.saltSize ?? CRYPT_ALGOS[p.encrypt].saltSize));
}

/** The message for a prompt nothing answers, or undefined when -e or a default does. */
export function unansweredPrompt(p: VarsPrompt, extraVars: Record<string, unknown>): string | undefined {
  if (Object.hasOwn(extraVars, p.name) || p.default !== undefined) return undefined;
  return `vars_prompt ${p.name} has no default and provision never prompts: pass -e ${p.name}=VALUE`;
}

/** The playbook with every play's prompted variables set above its `vars`; private values join `secrets`. */
export function withPromptedVars(playbook: Playbook, extraVars: Record<string, unknown>, secrets: Secrets): Playbook {
  const issues: ValidationIssue[] = [];
  const plays = playbook.plays.map((play) => {
    if (play.prompts.length === 0) return play;
    const values: Record<string, unknown> = {};
    for (const p of play.prompts) {
      const missing = unansweredPrompt(p, extraVars);
      if (missing) issues.push({ path: '', message: missing, location: p.location });
      else if (Object.hasOwn(extraVars, p.name)) {
        if (p.private) secrets.add(String(extraVars[p.name]));
      } else {
        values[p.name] = promptValue(p);
        if (p.private) secrets.add(String(p.default), String(values[p.name]));
      }
    }
    return { ...play, vars: { ...play.vars, ...values } };
  });
  if (issues.length > 0) throw new ValidationError(issues);
  return { ...playbook, plays };
}
