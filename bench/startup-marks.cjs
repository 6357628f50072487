// Preloaded into the provision CLI by bench/startup.ts (node -r): writes to
// $PROVISION_STARTUP_MARKS, at exit, when (ms since the process started) the first TCP
// connect began, when the first byte went out on a connected TCP socket (the SSH
// version string), and the process's CPU time (user + system, ms) at that moment.
const net = require('node:net');
const { writeFileSync } = require('node:fs');
const file = process.env.PROVISION_STARTUP_MARKS;
delete process.env.PROVISION_STARTUP_MARKS; // not for the commands the run starts
const marks = {};
const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
if (file) {
  const connect = net.Socket.prototype.connect;
  net.Socket.prototype.connect = function (...a) {
    marks.connect ??= performance.now();
    return connect.apply(this, a);
  };
  const write = net.Socket.prototype.write;
  net.Socket.prototype.write = function (...a) {
    if (this.remotePort && marks.firstByte === undefined) {
      marks.firstByte = performance.now();
      marks.cpuAtByte = cpuMs();
    }
    return write.apply(this, a);
  };
  process.on('exit', () => writeFileSync(file, JSON.stringify(marks)));
}
