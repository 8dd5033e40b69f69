'use strict';
// Local stand-in for @wireapp/promise-queue, which the npm mirror here does not carry.
// @wireapp/core 46.35.4 uses it as `new PromiseQueue({name, paused})` and calls push(fn) (a promise
// of fn's result), pause(), resume(), flush() (rejects every waiting task with cause FLUSHED),
// getLength(), hasRunningTasks(), and reads PromiseQueue.ERROR_CAUSES.{TIMEOUT,FLUSHED}.
// Tasks run one at a time, in the order they were pushed.

const ERROR_CAUSES = Object.freeze({
  TIMEOUT: 'TIMEOUT',
  FLUSHED: 'FLUSHED',
});

class PromiseQueue {
  constructor(options = {}) {
    this.name = options.name || 'promise-queue';
    this.paused = Boolean(options.paused);
    // Optional per-task time limit in ms; 0/undefined = none.
    this.timeout = Number(options.timeout) > 0 ? Number(options.timeout) : 0;
    this.waiting = [];
    this.running = false;
  }

  push(fn) {
    return new Promise((resolve, reject) => {
      this.waiting.push({fn, resolve, reject});
      this.runNext();
    });
  }

  pause() {
    this.paused = true;
  }

  resume() {
    this.paused = false;
    this.runNext();
  }

  flush() {
    const dropped = this.waiting.splice(0);
    for (const task of dropped) {
      task.reject(new Error(`${this.name}: queue flushed`, {cause: ERROR_CAUSES.FLUSHED}));
    }
  }

  getLength() {
    return this.waiting.length;
  }

  hasRunningTasks() {
    return this.running;
  }

  runNext() {
    if (this.running || this.paused || this.waiting.length === 0) {
      return;
    }
    const task = this.waiting.shift();
    this.running = true;
    let timer;
    const work = Promise.resolve().then(() => task.fn());
    const limited = this.timeout
      ? Promise.race([
          work,
          new Promise((_, reject) => {
            timer = setTimeout(
              () => reject(new Error(`${this.name}: task timed out`, {cause: ERROR_CAUSES.TIMEOUT})),
              this.timeout,
            );
          }),
        ])
      : work;
    limited.then(task.resolve, task.reject).finally(() => {
      clearTimeout(timer);
      this.running = false;
      this.runNext();
    });
  }
}

PromiseQueue.ERROR_CAUSES = ERROR_CAUSES;

module.exports = {PromiseQueue, ERROR_CAUSES};
