// Preloaded into the test suite's dynalite (node -r tests/dynalite_guard.js .../dynalite/cli.js).
//
// dynalite 4.0.0 rethrows an incoming request's 'error' event (index.js, httpHandler:
// `req.on('error', function (err) { throw err })`). A client that disconnects in the middle of a
// request (the crash tests SIGKILL the bot while it talks to DynamoDB) makes Node emit 'aborted'
// on that request, and the rethrow kills the whole server. DynamoDB drops such a request and goes
// on serving; with this guard, so does dynalite. Any other uncaught error still ends the process
// with its stack on stderr.
'use strict'

process.on('uncaughtException', function (err) {
  if (err && (err.message === 'aborted' || err.code === 'ECONNRESET')) {
    process.stderr.write('dynalite_guard: dropped a request its client abandoned (' + (err.code || err.message) + ')\n')
    return
  }
  process.stderr.write((err && err.stack ? err.stack : String(err)) + '\n')
  process.exit(1)
})
