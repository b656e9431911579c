// test-single-instance-qt-peer.cpp: a Qt 5 program that plays QtSingleApplication's
// QtLocalPeer on Linux, for the interop tests of LsSingleInstance (issue 26)
//
// SPDX-License-Identifier: LGPL-2.1-or-later
//
// Written for these tests from the behaviour of Qt Solutions' QtLocalPeer
// and QtLockedFile (unix): the socket name derived from the application id,
// the lock file and its fcntl() write lock held for the primary's life, the
// listen that removes a socket left behind, one QDataStream frame, the
// answer "ack", and the same blocking calls in the same order.
//
//   test-single-instance-qt-peer name ID
//       prints the socket name and the lock file's path, one a line
//   test-single-instance-qt-peer run ID HEX_MESSAGE N [TIMEOUT_MS]
//       with $QT_PEER_BARRIER set: prints "ready", then waits for the end
//       of standard input (so that many start at once);
//       if another process holds the lock (isRunning ()): sends the message
//       (hexadecimal UTF-8 on the command line) and prints "sent" (exit 0)
//       or "failed" (exit 1); otherwise prints "primary", serves until N
//       messages arrived, printing "received HEX" for each, and exits.

#include <QCoreApplication>
#include <QDataStream>
#include <QDir>
#include <QFile>
#include <QLocalServer>
#include <QLocalSocket>
#include <QRegularExpression>

#include <cstdio>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

namespace {

const char ack[] = "ack";

class LocalPeer
{
public:
  explicit LocalPeer (const QString &appId) : id (appId)
  {
    QString prefix = id;
    prefix.remove (QRegularExpression (QStringLiteral ("[^a-zA-Z]")));
    prefix.truncate (6);
    const QByteArray utf8 = id.toUtf8 ();
    const quint16 checksum = qChecksum (utf8.constData (), utf8.size ());
    socketName = QStringLiteral ("qtsingleapp-") + prefix + QLatin1Char ('-') +
                 QString::number (checksum, 16) + QLatin1Char ('-') +
                 QString::number (::getuid (), 16);
    lockFile.setFileName (QDir (QDir::tempPath ()).absolutePath () + QLatin1Char ('/') +
                          socketName + QStringLiteral ("-lockfile"));
    lockFile.open (QIODevice::ReadWrite);
  }

  // QtLocalPeer::isClient (): whoever cannot take the lock is a client;
  // whoever takes it listens, removing a socket left at the name.
  bool isClient ()
  {
    if (locked)
      return false;
    struct flock fl = {};
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    if (fcntl (lockFile.handle (), F_SETLK, &fl) != 0)
      return true;
    locked = true;
    server = new QLocalServer ();
    bool ok = server->listen (socketName);
    if (!ok && server->serverError () == QAbstractSocket::AddressInUseError)
      {
        QFile::remove (QDir::cleanPath (QDir::tempPath ()) + QLatin1Char ('/') + socketName);
        ok = server->listen (socketName);
      }
    if (!ok)
      std::fprintf (stderr, "listen failed: %s\n", qPrintable (server->errorString ()));
    return false;
  }

  // QtLocalPeer::sendMessage ()
  bool sendMessage (const QString &message, int timeout)
  {
    if (!isClient ())
      return false;
    QLocalSocket socket;
    bool connected = false;
    for (int attempt = 0; attempt < 2; attempt++)
      {
        socket.connectToServer (socketName);
        connected = socket.waitForConnected (timeout / 2);
        if (connected || attempt)
          break;
        struct timespec ts = { 0, 250 * 1000 * 1000 };
        nanosleep (&ts, nullptr);
      }
    if (!connected)
      return false;
    const QByteArray utf8 = message.toUtf8 ();
    QDataStream stream (&socket);
    stream.writeBytes (utf8.constData (), utf8.size ());
    bool ok = socket.waitForBytesWritten (timeout);
    if (ok)
      {
        ok = socket.waitForReadyRead (timeout);
        if (ok)
          ok = socket.read (qstrlen (ack)) == ack;
      }
    return ok;
  }

  // QtLocalPeer::receiveConnection (): blocking reads of one frame, "ack",
  // then waiting for the peer's hang-up before announcing the message.
  bool receiveConnection (QString *message)
  {
    QLocalSocket *socket = server->nextPendingConnection ();
    if (!socket)
      return false;
    for (;;)
      {
        if (socket->state () == QLocalSocket::UnconnectedState)
          {
            delete socket;
            return false;
          }
        if (socket->bytesAvailable () >= qint64 (sizeof (quint32)))
          break;
        socket->waitForReadyRead ();
      }
    QDataStream stream (socket);
    quint32 remaining;
    stream >> remaining;
    QByteArray bytes;
    bytes.resize (remaining);
    int got = 0;
    char *at = bytes.data ();
    do
      {
        got = stream.readRawData (at, remaining);
        remaining -= got;
        at += got;
      }
    while (remaining && got >= 0 && socket->waitForReadyRead (2000));
    if (got < 0)
      {
        delete socket;
        return false;
      }
    *message = QString::fromUtf8 (bytes);
    socket->write (ack, qstrlen (ack));
    socket->waitForBytesWritten (1000);
    socket->waitForDisconnected (1000);
    delete socket;
    return true;
  }

  ~LocalPeer ()
  {
    delete server;   // removes the socket
    if (locked)
      {
        struct flock fl = {};
        fl.l_type = F_UNLCK;
        fl.l_whence = SEEK_SET;
        fcntl (lockFile.handle (), F_SETLK, &fl);
      }
  }

  QString id;
  QString socketName;
  QFile lockFile;
  QLocalServer *server = nullptr;
  bool locked = false;
};

} // namespace

int
main (int argc, char **argv)
{
  QCoreApplication app (argc, argv);
  const QStringList args = app.arguments ();

  setvbuf (stdout, nullptr, _IOLBF, 0);
  if (args.size () == 3 && args[1] == QLatin1String ("name"))
    {
      LocalPeer peer (args[2]);
      std::printf ("%s\n%s\n", qPrintable (peer.socketName), qPrintable (peer.lockFile.fileName ()));
      return 0;
    }
  if (args.size () < 5 || args[1] != QLatin1String ("run"))
    {
      std::fprintf (stderr, "usage: %s name ID | run ID HEX_MESSAGE N [TIMEOUT_MS]\n", argv[0]);
      return 2;
    }

  if (qEnvironmentVariableIsSet ("QT_PEER_BARRIER"))
    {
      std::printf ("ready\n");
      char buffer[64];
      while (read (0, buffer, sizeof buffer) > 0)
        ;
    }

  LocalPeer peer (args[2]);
  const QString message = QString::fromUtf8 (QByteArray::fromHex (args[3].toLatin1 ()));
  const int expected = args[4].toInt ();
  const int timeout = args.size () > 5 ? args[5].toInt () : 5000;

  if (peer.isClient ())
    {
      const bool ok = peer.sendMessage (message, timeout);
      std::printf (ok ? "sent\n" : "failed\n");
      return ok ? 0 : 1;
    }

  std::printf ("primary\n");
  int received = 0;
  QObject::connect (peer.server, &QLocalServer::newConnection, [&] () {
    QString got;
    while (peer.server->hasPendingConnections ())
      if (peer.receiveConnection (&got))
        {
          std::printf ("received %s\n", got.toUtf8 ().toHex ().constData ());
          if (++received >= expected)
            app.quit ();
        }
  });
  if (expected > 0)
    app.exec ();
  return 0;
}
