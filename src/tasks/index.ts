/** Every task type a playbook can use, by its key. Later tasks are added here. */
import { command } from './command.js';
import { copy } from './copy.js';
import { file } from './file.js';
import { lineinfile } from './lineinfile.js';
import { packageTask } from './package.js';
import { serviceTask } from './service.js';
import { userTask } from './user.js';
import { shell } from './shell.js';

export const registry = { command, shell, file, copy, lineinfile, package: packageTask, service: serviceTask, user: userTask } as const;

export type TaskName = keyof typeof registry;

export { command, copy, file, lineinfile, shell };
