/* echo-qt: echo server on Qt 5 QLocalServer with the default Qt event loop
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * newConnection -> nextPendingConnection; readyRead -> readAll -> write;
 * disconnected -> deleteLater. Lambdas, so no moc. The event dispatcher is
 * whatever QCoreApplication picks by default (on Debian: the GLib one).
 *
 * Usage: echo-qt SOCKET-PATH   (prints READY, exits on SIGTERM)
 */
#include <QCoreApplication>
#include <QLocalServer>
#include <QLocalSocket>
#include <QSocketNotifier>

#include <csignal>
#include <cstdio>
#include <fcntl.h>
#include <unistd.h>

#include "bench-process.h"

static int sigterm_pipe[2];

static void
on_signal (int)
{
  char c = 1;
  ssize_t n = write (sigterm_pipe[1], &c, 1);
  (void) n;
}

int
main (int argc, char **argv)
{
  if (argc != 2)
    {
      std::fprintf (stderr, "Usage: %s SOCKET-PATH\n", argv[0]);
      return 2;
    }
  bench_process_setup ();

  QCoreApplication app (argc, argv);

  if (pipe2 (sigterm_pipe, O_CLOEXEC | O_NONBLOCK) != 0)
    return 1;
  QSocketNotifier notifier (sigterm_pipe[0], QSocketNotifier::Read);
  QObject::connect (&notifier, &QSocketNotifier::activated, &app, [] () {
    QCoreApplication::quit ();
  });
  std::signal (SIGTERM, on_signal);
  std::signal (SIGINT, on_signal);

  QLocalServer server;
  QObject::connect (&server, &QLocalServer::newConnection, &server, [&server] () {
    QLocalSocket *socket = server.nextPendingConnection ();
    if (socket == nullptr)
      return;
    QObject::connect (socket, &QLocalSocket::readyRead, socket, [socket] () {
      socket->write (socket->readAll ());
    });
    QObject::connect (socket, &QLocalSocket::disconnected, socket, &QObject::deleteLater);
  });
  if (!server.listen (QString::fromLocal8Bit (argv[1])))
    {
      std::fprintf (stderr, "%s\n", server.errorString ().toLocal8Bit ().constData ());
      return 1;
    }

  std::printf ("READY\n");
  std::fflush (stdout);
  int rc = app.exec ();
  server.close ();
  return rc;
}
