/**
 * RHEL 8's system-wide crypto policy reaches sshd on its command line
 * (`CRYPTO_POLICY` from the policy back end, see the sshd fact), where it
 * wins over every Ciphers/MACs/KexAlgorithms/... in sshd_config. A task that
 * manages one of these options asks for its own values, so it opts sshd out
 * of the policy the way /etc/sysconfig/sshd documents (`CRYPTO_POLICY=`,
 * appended after a marker line) and sshd restarts (a reload re-executes
 * sshd with its old command line). The policy's other options then fall
 * back to OpenSSH's defaults: the message says which. The rollback removes
 * the two lines and restarts sshd with the policy again.
 */
import { quote } from '../../contract/quote.js';
import type { Step } from '../../contract/task.js';
import { onRollback } from '../../core/guard.js';
import { SSHD_SYSCONFIG, type SshdFacts } from '../../facts/sshd.js';
import { sameOption, type Settings } from './sshd.js';

export const OPT_OUT_MARK = '# provision sshd_config: the algorithms are set in sshd_config, not by the crypto policy';

export interface CryptoOptOut {
  readonly step: Step;
  readonly note: string;
}

/** The opt-out when the policy applies and sets an option we manage; undefined otherwise. */
export function cryptoPolicyOptOut(f: SshdFacts, settings: Settings): CryptoOptOut | undefined {
  const policy = f.cryptoPolicy;
  if (!policy) return undefined;
  const managed = Object.keys(settings).filter((k) => sameOption(k).some((a) => policy.options[a] !== undefined));
  if (managed.length === 0) return undefined;
  const managedKeys = new Set(managed.flatMap(sameOption));
  const others = Object.keys(policy.options).filter((k) => !managedKeys.has(k));
  const sysconfig = quote(SSHD_SYSCONFIG);
  const undo = `sed -i ${quote(`/^${OPT_OUT_MARK}$/,+1d`)} ${sysconfig} && systemctl restart sshd.service`;
  return {
    step: { command: `printf '%s\\n' ${quote(OPT_OUT_MARK)} 'CRYPTO_POLICY=' >> ${sysconfig} && ${onRollback(undo)}` },
    note: `the crypto policy (CRYPTO_POLICY of ${policy.source}, on sshd's command line) overrides ${managed.join(', ')}: opt sshd out of it with CRYPTO_POLICY= in ${SSHD_SYSCONFIG} and restart sshd${others.length > 0 ? ` (the policy's ${others.join(', ')} fall back to OpenSSH's defaults)` : ''}`,
  };
}
