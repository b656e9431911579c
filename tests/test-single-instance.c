/* test-single-instance.c: LsSingleInstance (issue 26)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Every test runs with both protocols (Ls's own and QtLocalPeer's):
 * names, roles and messages in one process; rounds of 16 processes
 * released at once (exactly one primary, every message received once, the
 * primary of every other round SIGKILLed so that the next round starts on
 * its stale socket); a primary killed, then the next launch primary; a
 * primary whose main loop is blocked (the secondary times out, the message
 * is not announced); the election lock held for 2 s before the bind (the
 * message still arrives); hostile peers; handlers and callbacks that
 * release, unref or register again.
 */
#include "ls-test-util.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib-unix.h>

/* A guard against hangs, never a measurement. */
#define SAFETY_MS   60000
#define PROCESSES   16

static const LsSingleInstanceProtocol protocols[] = {
  LS_SINGLE_INSTANCE_PROTOCOL_LS,
  LS_SINGLE_INSTANCE_PROTOCOL_QT_LOCAL_PEER,
};

#define APP_ID "org.example.Test"

/* ---- Helpers ------------------------------------------------------------- */

/* The path of the primary's socket in the fixture's directory ($TMPDIR). */
static char *
socket_path (LsTestFixture *f, LsSingleInstance *instance)
{
  const char *name = ls_single_instance_get_server_name (instance);

  return g_path_is_absolute (name) ? g_strdup (name) : g_build_filename (f->dir, name, NULL);
}

static LsSingleInstance *
instance_new (LsSingleInstanceProtocol protocol)
{
  return ls_single_instance_new (APP_ID, protocol);
}

/* The path of APP_ID's socket with @protocol (no instance kept: children
 * forked later must not inherit objects they cannot free). */
static char *
socket_path_for (LsTestFixture *f, LsSingleInstanceProtocol protocol)
{
  g_autoptr(LsSingleInstance) probe = instance_new (protocol);

  return socket_path (f, probe);
}

/* A child forked by a test registers APP_ID and sends @text; returns the
 * exit status, everything freed (for valgrind). */
static int
child_send (LsSingleInstanceProtocol protocol, const char *text)
{
  g_autoptr(GMainContext) context = g_main_context_new ();
  g_autoptr(LsSingleInstance) secondary = NULL;
  g_autoptr(GBytes) message = g_bytes_new (text, strlen (text));
  int status;

  g_main_context_push_thread_default (context);
  secondary = instance_new (protocol);
  ls_single_instance_set_timeout (secondary, 60000);
  status = ls_single_instance_register (secondary, NULL, NULL) &&
           !ls_single_instance_is_primary (secondary) &&
           ls_single_instance_send_message (secondary, message, NULL, NULL) ? 0 : 1;
  g_clear_object (&secondary);
  g_main_context_pop_thread_default (context);
  return status;
}

static LsSingleInstance *
registered (LsSingleInstanceProtocol protocol, gboolean expect_primary)
{
  LsSingleInstance *instance = instance_new (protocol);
  GError *error = NULL;

  g_assert_true (ls_single_instance_register (instance, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (ls_single_instance_is_primary (instance), ==, expect_primary);
  return instance;
}

/* Records message-received. */
typedef struct
{
  GPtrArray *messages;   /* of char * */
} Inbox;

static void
on_message (LsSingleInstance *instance, GBytes *message, Inbox *inbox)
{
  gsize size;
  const char *data = g_bytes_get_data (message, &size);

  /* An empty GBytes may have no data pointer. */
  g_ptr_array_add (inbox->messages, g_strndup (data != NULL ? data : "", size));
}

static void
inbox_attach (Inbox *inbox, LsSingleInstance *instance)
{
  inbox->messages = g_ptr_array_new_with_free_func (g_free);
  g_signal_connect (instance, "message-received", G_CALLBACK (on_message), inbox);
}

static void
inbox_clear (Inbox *inbox)
{
  g_clear_pointer (&inbox->messages, g_ptr_array_unref);
}

static gboolean
inbox_has (gpointer data)
{
  return ((Inbox *) data)->messages->len > 0;
}

/* What a send_message_async callback saw. */
typedef struct
{
  gboolean  done;
  gboolean  ok;
  GError   *error;
} Sent;

static void
on_sent (GObject *source, GAsyncResult *result, gpointer data)
{
  Sent *sent = data;

  sent->ok = ls_single_instance_send_message_finish (LS_SINGLE_INSTANCE (source), result, &sent->error);
  sent->done = TRUE;
}

static void
send_async (LsSingleInstance *instance, const char *text, Sent *sent)
{
  g_autoptr(GBytes) message = g_bytes_new (text, strlen (text));

  memset (sent, 0, sizeof *sent);
  ls_single_instance_send_message_async (instance, message, NULL, on_sent, sent);
  g_assert_false (sent->done);   /* never from inside the call */
}

/* Sends @text through the main loop (the primary is served by the same
 * loop) and asserts it was acknowledged. */
static void
send_in_loop (LsSingleInstance *secondary, const char *text)
{
  Sent sent;

  send_async (secondary, text, &sent);
  g_assert_true (ls_test_run_until (&sent.done, SAFETY_MS));
  g_assert_no_error (sent.error);
  g_assert_true (sent.ok);
}

typedef void (*ProtocolTest) (LsTestFixture *f, gconstpointer data);

static void
add_protocol_tests (const char *path, ProtocolTest func)
{
  for (guint i = 0; i < G_N_ELEMENTS (protocols); i++)
    {
      g_autofree char *full = g_strdup_printf ("%s/%s", path, i == 0 ? "ls" : "qt");

      g_test_add (full, LsTestFixture, &protocols[i], ls_test_fixture_setup_dir, func,
                  ls_test_fixture_teardown);
    }
}

#define PROTOCOL(data) (*(const LsSingleInstanceProtocol *) (data))

/* In a forked child: a fresh main context of its own (the parent's event
 * core must never be shared across fork). */
static GMainContext *
child_context_new (void)
{
  GMainContext *context = g_main_context_new ();

  g_main_context_push_thread_default (context);
  return context;
}

static void
write_byte (int fd, char c)
{
  while (write (fd, &c, 1) < 0)
    g_assert_cmpint (errno, ==, EINTR);
}

static char
read_byte (int fd)
{
  char c = 0;
  gssize n;

  while ((n = read (fd, &c, 1)) < 0 && errno == EINTR)
    ;
  return n == 1 ? c : 0;
}

/* ---- Names and properties ------------------------------------------------ */

static void
test_properties (LsTestFixture *f, gconstpointer data)
{
  g_autoptr(LsSingleInstance) ls = ls_single_instance_new ("app", LS_SINGLE_INSTANCE_PROTOCOL_LS);
  g_autoptr(LsSingleInstance) qt = NULL;
  g_autoptr(GString) log = g_string_new (NULL);
  g_autofree char *id = NULL, *server_name = NULL;
  LsSingleInstanceProtocol protocol;
  gboolean is_primary;
  int timeout;

  g_assert_cmpstr (ls_single_instance_get_id (ls), ==, "app");
  g_assert_cmpint (ls_single_instance_get_protocol (ls), ==, LS_SINGLE_INSTANCE_PROTOCOL_LS);
  g_assert_cmpstr (ls_single_instance_get_server_name (ls), ==, "app");
  g_assert_cmpint (ls_single_instance_get_timeout (ls), ==, 5000);
  g_assert_false (ls_single_instance_is_primary (ls));

  qt = ls_single_instance_new ("org.example.Viewer", LS_SINGLE_INSTANCE_PROTOCOL_QT_LOCAL_PEER);
  g_object_get (qt, "id", &id, "protocol", &protocol, "server-name", &server_name,
                "timeout", &timeout, "is-primary", &is_primary, NULL);
  g_assert_cmpstr (id, ==, "org.example.Viewer");
  g_assert_cmpint (protocol, ==, LS_SINGLE_INSTANCE_PROTOCOL_QT_LOCAL_PEER);
  g_assert_cmpint (timeout, ==, 5000);
  g_assert_false (is_primary);
  /* qChecksum ("org.example.Viewer") is 0xb5e5 (checked with Qt). */
  {
    g_autofree char *expected = g_strdup_printf ("qtsingleapp-orgexa-b5e5-%x", (guint) getuid ());

    g_assert_cmpstr (server_name, ==, expected);
  }

  /* timeout: -1 is the floor; notified on change only. */
  g_signal_connect (ls, "notify", G_CALLBACK (ls_test_on_notify), log);
  ls_single_instance_set_timeout (ls, 250);
  ls_single_instance_set_timeout (ls, 250);
  g_object_set (ls, "timeout", -1, NULL);
  ls_single_instance_set_timeout (ls, -7);
  g_assert_cmpint (ls_single_instance_get_timeout (ls), ==, -1);
  g_assert_cmpstr (log->str, ==, "timeout timeout ");
}

/* QtLocalPeer's name: the first six ASCII letters of the id (all else
 * dropped), Qt's CRC-16 of its UTF-8 bytes, the uid; values from Qt 5's
 * qChecksum (tests/python checks them against Qt itself). */
static void
test_qt_names (LsTestFixture *f, gconstpointer data)
{
  static const struct { const char *id, *prefix; guint checksum; } cases[] = {
    { "123456789", "", 0x906e },
    { "app.x", "appx", 0xf9f1 },
    { "org.example.Viewer", "orgexa", 0xb5e5 },
    { "\xc3\xa9\xe6\x97\xa5\xe6\x9c\xac", "", 0x5bbe },   /* é日本 */
    { "a1b2c3d4e5f6g7", "abcdef", 0 },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(LsSingleInstance) instance =
        ls_single_instance_new (cases[i].id, LS_SINGLE_INSTANCE_PROTOCOL_QT_LOCAL_PEER);
      g_autofree char *prefix = g_strdup_printf ("qtsingleapp-%s-", cases[i].prefix);
      g_autofree char *suffix = g_strdup_printf ("-%x", (guint) getuid ());
      const char *name = ls_single_instance_get_server_name (instance);

      g_assert_true (g_str_has_prefix (name, prefix));
      g_assert_true (g_str_has_suffix (name, suffix));
      if (cases[i].checksum != 0)
        {
          g_autofree char *full = g_strdup_printf ("%s%x%s", prefix, cases[i].checksum, suffix);

          g_assert_cmpstr (name, ==, full);
        }
    }
}

/* ---- Roles and messages in one process ----------------------------------- */

static void
test_roles (LsTestFixture *f, gconstpointer data)
{
  LsSingleInstanceProtocol protocol = PROTOCOL (data);
  g_autoptr(LsSingleInstance) primary = instance_new (protocol);
  g_autoptr(LsSingleInstance) secondary = NULL;
  g_autoptr(LsSingleInstance) loner = instance_new (protocol);
  g_autoptr(GString) log = g_string_new (NULL);
  g_autoptr(GBytes) message = g_bytes_new_static ("x", 1);
  g_autofree char *path = socket_path (f, primary);
  GError *error = NULL;
  Inbox inbox;
  struct stat st;

  g_signal_connect (primary, "notify::is-primary", G_CALLBACK (ls_test_on_notify), log);
  g_assert_true (ls_single_instance_register (primary, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (ls_single_instance_is_primary (primary));
  g_assert_cmpstr (log->str, ==, "is-primary ");
  /* Only the user may connect. */
  g_assert_cmpint (lstat (path, &st), ==, 0);
  g_assert_true (S_ISSOCK (st.st_mode));
  g_assert_cmpint (st.st_mode & 0777, ==, 0700);
  /* Registering again changes nothing. */
  g_assert_true (ls_single_instance_register (primary, NULL, &error));
  g_assert_cmpstr (log->str, ==, "is-primary ");

  secondary = registered (protocol, FALSE);
  inbox_attach (&inbox, primary);
  send_in_loop (secondary, "hello");
  send_in_loop (secondary, "");
  send_in_loop (secondary, "\xc3\xa9t\xc3\xa9\n\x01");
  g_assert_cmpuint (inbox.messages->len, ==, 3);
  g_assert_cmpstr (inbox.messages->pdata[0], ==, "hello");
  g_assert_cmpstr (inbox.messages->pdata[1], ==, "");
  g_assert_cmpstr (inbox.messages->pdata[2], ==, "\xc3\xa9t\xc3\xa9\n\x01");

  /* Only a secondary sends. */
  g_assert_false (ls_single_instance_send_message (primary, message, NULL, &error));
  g_assert_error (error, LS_SOCKET_ERROR, LS_SOCKET_ERROR_OPERATION);
  ls_test_assert_error_text (error->message, "send a message", f->dir);
  g_clear_error (&error);
  g_assert_false (ls_single_instance_send_message (loner, message, NULL, &error));
  g_assert_error (error, LS_SOCKET_ERROR, LS_SOCKET_ERROR_OPERATION);
  ls_test_assert_contains (error->message, "not registered");
  g_clear_error (&error);

  /* A secondary's release makes it unregistered. */
  ls_single_instance_release (secondary);
  g_assert_false (ls_single_instance_send_message (secondary, message, NULL, &error));
  g_assert_error (error, LS_SOCKET_ERROR, LS_SOCKET_ERROR_OPERATION);
  g_clear_error (&error);

  /* The primary's release removes the socket; the next one to register
   * is the primary. */
  ls_single_instance_release (primary);
  g_assert_false (ls_single_instance_is_primary (primary));
  g_assert_cmpstr (log->str, ==, "is-primary is-primary ");
  g_assert_false (ls_test_path_exists (path));
  g_assert_true (ls_single_instance_register (secondary, NULL, &error));
  g_assert_true (ls_single_instance_is_primary (secondary));
  g_assert_true (ls_single_instance_register (primary, NULL, &error));
  g_assert_false (ls_single_instance_is_primary (primary));
  send_in_loop (primary, "back");
  g_assert_cmpuint (inbox.messages->len, ==, 3);   /* the old primary's inbox */

  /* Dispose removes the socket too. */
  g_clear_object (&secondary);
  g_assert_false (ls_test_path_exists (path));
  inbox_clear (&inbox);
}

static void
on_registered (GObject *source, GAsyncResult *result, gpointer data)
{
  Sent *sent = data;

  sent->ok = ls_single_instance_register_finish (LS_SINGLE_INSTANCE (source), result, &sent->error);
  sent->done = TRUE;
}

static void
test_register_async (LsTestFixture *f, gconstpointer data)
{
  g_autoptr(LsSingleInstance) instance = instance_new (PROTOCOL (data));
  g_autoptr(LsSingleInstance) other = instance_new (PROTOCOL (data));
  g_autoptr(LsSingleInstance) empty = ls_single_instance_new ("", PROTOCOL (data));
  g_autoptr(GCancellable) cancelled = g_cancellable_new ();
  GError *error = NULL;
  Sent sent = { 0 };

  ls_single_instance_register_async (instance, NULL, on_registered, &sent);
  g_assert_false (sent.done);
  g_assert_true (ls_test_run_until (&sent.done, SAFETY_MS));
  g_assert_no_error (sent.error);
  g_assert_true (sent.ok);
  g_assert_true (ls_single_instance_is_primary (instance));

  memset (&sent, 0, sizeof sent);
  ls_single_instance_register_async (other, NULL, on_registered, &sent);
  g_assert_true (ls_test_run_until (&sent.done, SAFETY_MS));
  g_assert_true (sent.ok);
  g_assert_false (ls_single_instance_is_primary (other));

  memset (&sent, 0, sizeof sent);
  ls_single_instance_register_async (empty, NULL, on_registered, &sent);
  g_assert_true (ls_test_run_until (&sent.done, SAFETY_MS));
  g_assert_false (sent.ok);
  g_assert_error (sent.error, LS_SOCKET_ERROR, LS_SOCKET_ERROR_SERVER_NOT_FOUND);
  g_clear_error (&sent.error);

  g_cancellable_cancel (cancelled);
  ls_single_instance_release (instance);
  g_assert_false (ls_single_instance_register (instance, cancelled, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);
  memset (&sent, 0, sizeof sent);
  ls_single_instance_register_async (instance, cancelled, on_registered, &sent);
  g_assert_true (ls_test_run_until (&sent.done, SAFETY_MS));
  g_assert_error (sent.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&sent.error);
  g_assert_false (ls_single_instance_is_primary (instance));
}

/* The sync call never runs the caller's context: the primary answers from
 * another thread's loop. */
typedef struct
{
  LsSingleInstanceProtocol protocol;
  GMainLoop   *loop;
  GMainContext *context;
  Inbox        inbox;
  gboolean     ready;
  GMutex       mutex;
  GCond        cond;
  GThread     *message_thread;
} PrimaryThread;

static void
on_thread_message (LsSingleInstance *instance, GBytes *message, PrimaryThread *pt)
{
  pt->message_thread = g_thread_self ();
  on_message (instance, message, &pt->inbox);
  g_main_loop_quit (pt->loop);
}

static gpointer
primary_thread (gpointer data)
{
  PrimaryThread *pt = data;
  LsSingleInstance *instance;

  g_main_context_push_thread_default (pt->context);
  instance = registered (pt->protocol, TRUE);
  pt->inbox.messages = g_ptr_array_new_with_free_func (g_free);
  g_signal_connect (instance, "message-received", G_CALLBACK (on_thread_message), pt);
  g_mutex_lock (&pt->mutex);
  pt->ready = TRUE;
  g_cond_signal (&pt->cond);
  g_mutex_unlock (&pt->mutex);
  g_main_loop_run (pt->loop);
  g_object_unref (instance);
  g_main_context_pop_thread_default (pt->context);
  return NULL;
}

static void
test_sync_send (LsTestFixture *f, gconstpointer data)
{
  PrimaryThread pt = { .protocol = PROTOCOL (data) };
  g_autoptr(LsSingleInstance) secondary = NULL;
  g_autoptr(GBytes) message = g_bytes_new_static ("from the main thread", 20);
  GError *error = NULL;
  GThread *thread;

  g_mutex_init (&pt.mutex);
  g_cond_init (&pt.cond);
  pt.context = g_main_context_new ();
  pt.loop = g_main_loop_new (pt.context, FALSE);
  thread = g_thread_new ("primary", primary_thread, &pt);
  g_mutex_lock (&pt.mutex);
  while (!pt.ready)
    g_cond_wait (&pt.cond, &pt.mutex);
  g_mutex_unlock (&pt.mutex);

  secondary = registered (pt.protocol, FALSE);
  g_assert_true (ls_single_instance_send_message (secondary, message, NULL, &error));
  g_assert_no_error (error);
  g_thread_join (thread);
  g_assert_true (pt.message_thread == thread);
  g_assert_cmpuint (pt.inbox.messages->len, ==, 1);
  g_assert_cmpstr (pt.inbox.messages->pdata[0], ==, "from the main thread");

  inbox_clear (&pt.inbox);
  g_main_loop_unref (pt.loop);
  g_main_context_unref (pt.context);
  g_mutex_clear (&pt.mutex);
  g_cond_clear (&pt.cond);
}

/* ---- What is at the name ------------------------------------------------- */

static void
test_stale_socket (LsTestFixture *f, gconstpointer data)
{
  g_autoptr(LsSingleInstance) instance = instance_new (PROTOCOL (data));
  g_autoptr(LsSingleInstance) secondary = NULL;
  g_autofree char *path = socket_path (f, instance);
  LsTestFileId before, after;
  Inbox inbox;

  ls_test_make_stale_socket (path);
  ls_test_file_id_get (path, &before);
  g_assert_true (ls_single_instance_register (instance, NULL, NULL));
  g_assert_true (ls_single_instance_is_primary (instance));
  ls_test_file_id_get (path, &after);
  g_assert_true (before.ino != after.ino);

  inbox_attach (&inbox, instance);
  secondary = registered (PROTOCOL (data), FALSE);
  send_in_loop (secondary, "after a crash");
  g_assert_cmpuint (inbox.messages->len, ==, 1);
  inbox_clear (&inbox);
}

static void
test_not_a_socket (LsTestFixture *f, gconstpointer data)
{
  g_autoptr(LsSingleInstance) instance = instance_new (PROTOCOL (data));
  g_autofree char *path = socket_path (f, instance);
  GError *error = NULL;
  LsTestFileId before;

  ls_test_write_file (path, "precious");
  ls_test_file_id_get (path, &before);
  g_assert_false (ls_single_instance_register (instance, NULL, &error));
  g_assert_error (error, LS_SOCKET_ERROR, LS_SOCKET_ERROR_ADDRESS_IN_USE);
  ls_test_assert_contains (error->message, "register");
  ls_test_assert_contains (error->message, path);
  ls_test_assert_contains (error->message, "regular file");
  g_clear_error (&error);
  g_assert_false (ls_single_instance_is_primary (instance));
  ls_test_assert_file_unchanged (path, &before);
  ls_test_assert_file_contents (path, "precious");
}

static void
test_bad_places (LsTestFixture *f, gconstpointer data)
{
  LsSingleInstanceProtocol protocol = PROTOCOL (data);
  g_autoptr(LsSingleInstance) empty = ls_single_instance_new ("", protocol);
  GError *error = NULL;

  /* A directory this user may not write to ($TMPDIR, inherited): neither
   * role. */
  if (g_test_subprocess ())
    {
      g_autoptr(LsSingleInstance) instance = instance_new (protocol);

      g_assert_true (ls_test_drop_to_nobody ());
      g_assert_false (ls_single_instance_register (instance, NULL, &error));
      g_assert_error (error, LS_SOCKET_ERROR, LS_SOCKET_ERROR_SOCKET_ACCESS);
      g_printerr ("%s\n", error->message);
      g_clear_error (&error);
      return;
    }

  g_assert_false (ls_single_instance_register (empty, NULL, &error));
  g_assert_error (error, LS_SOCKET_ERROR, LS_SOCKET_ERROR_SERVER_NOT_FOUND);
  ls_test_assert_contains (error->message, "register");
  ls_test_assert_contains (error->message, "empty");
  g_clear_error (&error);

  /* A directory that does not exist. */
  {
    g_autofree char *missing = g_build_filename (f->dir, "missing", NULL);
    g_autoptr(LsSingleInstance) instance = NULL;

    if (protocol == LS_SINGLE_INSTANCE_PROTOCOL_LS)
      {
        g_autofree char *name = g_build_filename (missing, "app", NULL);

        instance = ls_single_instance_new (name, protocol);
      }
    else
      {
        g_setenv ("TMPDIR", missing, TRUE);
        instance = instance_new (protocol);
      }
    g_assert_false (ls_single_instance_register (instance, NULL, &error));
    g_assert_error (error, LS_SOCKET_ERROR, LS_SOCKET_ERROR_SERVER_NOT_FOUND);
    ls_test_assert_contains (error->message, "register");
    ls_test_assert_contains (error->message, missing);
    g_clear_error (&error);
    g_setenv ("TMPDIR", f->dir, TRUE);
  }

  if (getuid () == 0)
    {
      g_assert_cmpint (chmod (f->dir, 0755), ==, 0);
      g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_INHERIT_STDOUT);
      g_test_trap_assert_passed ();
      g_test_trap_assert_stderr ("*Cannot register*ermission denied*");
    }
}

/* ---- Processes ----------------------------------------------------------- */

/* A record a child of the stress test writes (one write: atomic). */
typedef struct
{
  char    kind;      /* P primary, S sent, F failed, E no role, M messages */
  guint8  index;
  guint8  duplicates;
  guint8  count;
  guint32 mask;      /* M: the senders whose message arrived */
} Record;

typedef struct
{
  guint32   mask;
  guint     count;
  guint     duplicates;
  GMainLoop *loop;
} Collected;

static void
on_stress_message (LsSingleInstance *instance, GBytes *message, Collected *collected)
{
  g_autofree char *text = g_strndup (g_bytes_get_data (message, NULL), g_bytes_get_size (message));
  guint index = (guint) g_ascii_strtoull (text + 1, NULL, 10);

  g_assert_true (text[0] == 'm' && index < 32);
  if (collected->mask & (1u << index))
    collected->duplicates++;
  collected->mask |= 1u << index;
  collected->count++;
}

static gboolean
on_release (int fd, GIOCondition condition, gpointer data)
{
  g_main_loop_quit (data);
  return G_SOURCE_REMOVE;
}

static void
write_record (int fd, const Record *record)
{
  g_assert_cmpint (write (fd, record, sizeof *record), ==, sizeof *record);
}

static int
stress_child (guint                    index,
              LsSingleInstanceProtocol protocol,
              int                      barrier_fd,
              int                      results_fd,
              int                      release_fd)
{
  g_autoptr(GMainContext) context = child_context_new ();
  g_autoptr(LsSingleInstance) instance = instance_new (protocol);
  GError *error = NULL;
  Record record = { .index = index };

  read_byte (barrier_fd);   /* released all at once: the parent closes it */
  ls_single_instance_set_timeout (instance, SAFETY_MS);
  if (!ls_single_instance_register (instance, NULL, &error))
    {
      g_printerr ("child %u: %s\n", index, error->message);
      g_clear_error (&error);
      record.kind = 'E';
      write_record (results_fd, &record);
      g_main_context_pop_thread_default (context);
      return 1;
    }
  if (ls_single_instance_is_primary (instance))
    {
      Collected collected = { 0 };
      GSource *release_source;
      char order;

      record.kind = 'P';
      write_record (results_fd, &record);
      collected.loop = g_main_loop_new (context, FALSE);
      g_signal_connect (instance, "message-received", G_CALLBACK (on_stress_message), &collected);
      /* Serves until the parent has heard from every secondary. */
      release_source = g_unix_fd_source_new (release_fd, G_IO_IN | G_IO_HUP);
      g_source_set_callback (release_source, (GSourceFunc) (void (*) (void)) on_release,
                             collected.loop, NULL);
      g_source_attach (release_source, context);
      g_main_loop_run (collected.loop);
      g_source_unref (release_source);
      order = read_byte (release_fd);
      record.kind = 'M';
      record.mask = collected.mask;
      record.count = collected.count;
      record.duplicates = collected.duplicates;
      write_record (results_fd, &record);
      if (order == 'k')
        for (;;)
          pause ();   /* the parent SIGKILLs us: the socket stays, stale */
      g_main_loop_unref (collected.loop);
      g_clear_object (&instance);
      g_main_context_pop_thread_default (context);
      return 0;
    }
  else
    {
      g_autofree char *text = g_strdup_printf ("m%u", index);
      g_autoptr(GBytes) message = g_bytes_new (text, strlen (text));

      if (ls_single_instance_send_message (instance, message, NULL, &error))
        {
          record.kind = 'S';
        }
      else
        {
          g_printerr ("child %u: %s\n", index, error->message);
          g_clear_error (&error);
          record.kind = 'F';
        }
      write_record (results_fd, &record);
      g_clear_object (&instance);
      g_main_context_pop_thread_default (context);
      return record.kind == 'S' ? 0 : 1;
    }
}

static void
stress (LsTestFixture *f, LsSingleInstanceProtocol protocol, guint rounds)
{
  g_autofree char *path = socket_path_for (f, protocol);
  guint killed = 0;

  for (guint round = 0; round < rounds; round++)
    {
      /* Every other primary is killed: the next round starts on a stale
       * socket (and, for QtLocalPeer, an unlocked lock file). */
      gboolean kill_primary = round % 2 == 1;
      int barrier[2], results[2], release[2];
      pid_t pids[PROCESSES];
      guint primaries = 0, sent = 0;
      Record record, messages;
      guint primary_index = 0;

      g_assert_cmpint (pipe2 (barrier, O_CLOEXEC), ==, 0);
      g_assert_cmpint (pipe2 (results, O_CLOEXEC), ==, 0);
      g_assert_cmpint (pipe2 (release, O_CLOEXEC), ==, 0);
      for (guint i = 0; i < PROCESSES; i++)
        {
          pids[i] = ls_test_fork ();
          if (pids[i] == 0)
            {
              close (barrier[1]);
              close (results[0]);
              close (release[1]);
              _exit (stress_child (i, protocol, barrier[0], results[1], release[0]));
            }
        }
      close (barrier[0]);
      close (barrier[1]);
      close (results[1]);
      close (release[0]);

      for (guint i = 0; i < PROCESSES; i++)
        {
          g_assert_cmpint (read (results[0], &record, sizeof record), ==, sizeof record);
          if (record.kind == 'P')
            {
              primaries++;
              primary_index = record.index;
            }
          else if (record.kind == 'S')
            sent++;
          else
            g_error ("round %u: child %u reported '%c'", round, record.index, record.kind);
        }
      g_assert_cmpuint (primaries, ==, 1);
      g_assert_cmpuint (sent, ==, PROCESSES - 1);

      write_byte (release[1], kill_primary ? 'k' : 'q');
      g_assert_cmpint (read (results[0], &messages, sizeof messages), ==, sizeof messages);
      g_assert_cmpint (messages.kind, ==, 'M');
      /* Every secondary's message, once. */
      g_assert_cmphex (messages.mask, ==, ((1u << PROCESSES) - 1) & ~(1u << primary_index));
      g_assert_cmpuint (messages.count, ==, PROCESSES - 1);
      g_assert_cmpuint (messages.duplicates, ==, 0);

      if (kill_primary)
        {
          kill (pids[primary_index], SIGKILL);
          killed++;
        }
      for (guint i = 0; i < PROCESSES; i++)
        {
          int status = ls_test_wait_child (pids[i], SAFETY_MS);

          if (kill_primary && i == primary_index)
            g_assert_true (WIFSIGNALED (status) && WTERMSIG (status) == SIGKILL);
          else
            g_assert_true (WIFEXITED (status) && WEXITSTATUS (status) == 0);
        }
      close (results[0]);
      close (release[1]);
      /* A killed primary leaves its socket; one that quit does not. */
      g_assert_cmpint (ls_test_path_is_socket (path), ==, kill_primary);
    }
  g_test_message ("%u rounds of %d processes, %u primaries killed", rounds, PROCESSES, killed);
}

/* Valgrind checks memory, not the odds of a race: fewer rounds there. */
static gboolean
under_valgrind (void)
{
  const char *preload = g_getenv ("LD_PRELOAD");

  return preload != NULL && strstr (preload, "vgpreload") != NULL;
}

static void
test_simultaneous (LsTestFixture *f, gconstpointer data)
{
  stress (f, PROTOCOL (data), g_test_slow () ? 2000 : under_valgrind () ? 20 : 200);
}

/* A primary that is killed: the next launch takes over its stale socket. */
static void
test_primary_killed (LsTestFixture *f, gconstpointer data)
{
  LsSingleInstanceProtocol protocol = PROTOCOL (data);
  g_autoptr(LsSingleInstance) next = NULL;
  g_autofree char *path = socket_path_for (f, protocol);
  int ready[2];
  pid_t pid;
  Inbox inbox;

  g_assert_cmpint (pipe2 (ready, O_CLOEXEC), ==, 0);
  pid = ls_test_fork ();
  if (pid == 0)
    {
      g_autoptr(GMainContext) context = child_context_new ();
      LsSingleInstance *instance = registered (protocol, TRUE);

      (void) instance;
      write_byte (ready[1], 'R');
      for (;;)
        g_main_context_iteration (context, TRUE);
    }
  close (ready[1]);
  g_assert_cmpint (read_byte (ready[0]), ==, 'R');
  close (ready[0]);
  /* While it lives, it is the primary. */
  {
    g_autoptr(LsSingleInstance) other = registered (protocol, FALSE);
  }
  kill (pid, SIGKILL);
  ls_test_wait_child (pid, SAFETY_MS);
  g_assert_true (ls_test_path_is_socket (path));

  next = registered (protocol, TRUE);
  inbox_attach (&inbox, next);
  pid = ls_test_fork ();
  if (pid == 0)
    _exit (child_send (protocol, "to the new primary"));
  g_assert_true (ls_test_run_until_cond (inbox_has, &inbox, SAFETY_MS));
  ls_test_assert_child_ok (pid, SAFETY_MS);
  g_assert_cmpstr (inbox.messages->pdata[0], ==, "to the new primary");
  g_clear_object (&next);
  g_assert_false (ls_test_path_exists (path));
  inbox_clear (&inbox);
}

/* A primary whose main loop is blocked longer than the secondary's
 * timeout: the secondary fails with SOCKET_TIMEOUT (no hang), and the
 * primary, once free, does not announce the message nobody waits for. */
/* In a forked child: serves from @context (pushed by child_context_new ())
 * until a message arrives, checks that it is the only one and is
 * @expected; returns the exit status with everything freed (for
 * valgrind). */
static int
child_serve_one (GMainContext     *context,
                 LsSingleInstance *primary,
                 const char       *expected)
{
  Inbox inbox;

  inbox_attach (&inbox, primary);
  g_assert_true (ls_test_run_until_cond (inbox_has, &inbox, SAFETY_MS));
  g_assert_cmpuint (inbox.messages->len, ==, 1);
  g_assert_cmpstr (inbox.messages->pdata[0], ==, expected);
  inbox_clear (&inbox);
  g_object_unref (primary);
  g_main_context_pop_thread_default (context);
  g_main_context_unref (context);
  return 0;
}

static int
child_blocked_primary (LsSingleInstanceProtocol protocol, int ready_fd, int go_fd)
{
  GMainContext *context = child_context_new ();
  LsSingleInstance *primary = registered (protocol, TRUE);

  write_byte (ready_fd, 'R');
  /* Busy: the main loop does not run until the parent says so. */
  read_byte (go_fd);
  /* Only the second message, which was acknowledged. */
  return child_serve_one (context, primary, "second");
}

static void
test_blocked_primary (LsTestFixture *f, gconstpointer data)
{
  LsSingleInstanceProtocol protocol = PROTOCOL (data);
  g_autoptr(LsSingleInstance) secondary = NULL;
  g_autoptr(GBytes) first = NULL;
  g_autoptr(GBytes) second = NULL;
  int ready[2], go[2];
  GError *error = NULL;
  pid_t pid;

  g_assert_cmpint (pipe2 (ready, O_CLOEXEC), ==, 0);
  g_assert_cmpint (pipe2 (go, O_CLOEXEC), ==, 0);
  pid = ls_test_fork ();
  if (pid == 0)
    _exit (child_blocked_primary (protocol, ready[1], go[0]));
  g_assert_cmpint (read_byte (ready[0]), ==, 'R');

  first = g_bytes_new_static ("lost", 4);
  second = g_bytes_new_static ("second", 6);
  secondary = registered (protocol, FALSE);
  ls_single_instance_set_timeout (secondary, 300);
  g_assert_false (ls_single_instance_send_message (secondary, first, NULL, &error));
  g_assert_error (error, LS_SOCKET_ERROR, LS_SOCKET_ERROR_SOCKET_TIMEOUT);
  ls_test_assert_error_text (error->message, "send a message to the primary instance", f->dir);
  ls_test_assert_contains (error->message, "300 ms");
  g_clear_error (&error);

  write_byte (go[1], 'G');
  ls_single_instance_set_timeout (secondary, SAFETY_MS);
  g_assert_true (ls_single_instance_send_message (secondary, second, NULL, &error));
  g_assert_no_error (error);
  ls_test_assert_child_ok (pid, SAFETY_MS);
  close (ready[0]);
  close (ready[1]);
  close (go[0]);
  close (go[1]);
}

/* The election lock taken by a process that binds only 2 s later: the
 * secondary retries through the window and its message arrives. */
static int
take_election_lock (LsTestFixture *f, LsSingleInstanceProtocol protocol)
{
  g_autofree char *path = socket_path_for (f, protocol);
  g_autofree char *lock_path = NULL;
  int fd;

  if (protocol == LS_SINGLE_INSTANCE_PROTOCOL_LS)
    {
      /* reclaim-stale's lock, as a primary holds it from lock to bind */
      lock_path = g_strconcat (path, ".lock", NULL);
      fd = open (lock_path, O_RDONLY | O_CREAT | O_CLOEXEC, 0644);
      g_assert_cmpint (fd, >=, 0);
      g_assert_cmpint (flock (fd, LOCK_EX), ==, 0);
    }
  else
    {
      /* QtLocalPeer's lock, as a Qt primary takes it (a process-wide
       * record lock) */
      struct flock lock = { .l_type = F_WRLCK, .l_whence = SEEK_SET };

      lock_path = g_strconcat (path, "-lockfile", NULL);
      fd = open (lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
      g_assert_cmpint (fd, >=, 0);
      g_assert_cmpint (fcntl (fd, F_SETLK, &lock), ==, 0);
    }
  return fd;
}

static int
child_late_primary (LsTestFixture *f, LsSingleInstanceProtocol protocol, int ready_fd)
{
  GMainContext *context = child_context_new ();
  int lock_fd = take_election_lock (f, protocol);

  write_byte (ready_fd, 'L');
  g_usleep (2 * G_USEC_PER_SEC);
  /* Its own registration takes the lock again. */
  close (lock_fd);
  return child_serve_one (context, registered (protocol, TRUE), "through the window");
}

static void
test_lock_window (LsTestFixture *f, gconstpointer data)
{
  LsSingleInstanceProtocol protocol = PROTOCOL (data);
  g_autoptr(LsSingleInstance) secondary = NULL;
  g_autoptr(GBytes) message = NULL;
  GError *error = NULL;
  int ready[2];
  pid_t pid;

  g_assert_cmpint (pipe2 (ready, O_CLOEXEC), ==, 0);
  pid = ls_test_fork ();
  if (pid == 0)
    _exit (child_late_primary (f, protocol, ready[1]));
  g_assert_cmpint (read_byte (ready[0]), ==, 'L');
  close (ready[0]);
  close (ready[1]);
  secondary = instance_new (protocol);
  message = g_bytes_new_static ("through the window", 18);

  /* The lock is held: someone is about to be the primary. */
  g_assert_true (ls_single_instance_register (secondary, NULL, &error));
  g_assert_no_error (error);
  g_assert_false (ls_single_instance_is_primary (secondary));
  ls_single_instance_set_timeout (secondary, SAFETY_MS);
  g_assert_true (ls_single_instance_send_message (secondary, message, NULL, &error));
  g_assert_no_error (error);
  ls_test_assert_child_ok (pid, SAFETY_MS);
}

/* ---- Hostile peers ------------------------------------------------------- */

static void
test_hostile_peers (LsTestFixture *f, gconstpointer data)
{
  LsSingleInstanceProtocol protocol = PROTOCOL (data);
  g_autoptr(LsSingleInstance) primary = instance_new (protocol);
  g_autoptr(LsSingleInstance) secondary = NULL;
  g_autofree char *path = socket_path (f, primary);
  static const guint8 huge[4] = { 0x7f, 0xff, 0xff, 0xff };
  static const guint8 half[6] = { 0, 0, 0, 10, 'a', 'b' };
  const char *garbage = "GET / HTTP/1.0\r\n\r\n";
  int idle[24], fd_huge, fd_garbage, fd_half;
  Sent sent;
  Inbox inbox;

  /* A connection that delivers no message is dropped after this long. */
  ls_single_instance_set_timeout (primary, 200);
  g_assert_true (ls_single_instance_register (primary, NULL, NULL));
  inbox_attach (&inbox, primary);

  /* More idle peers than the primary serves at once. */
  for (guint i = 0; i < G_N_ELEMENTS (idle); i++)
    g_assert_cmpint ((idle[i] = ls_test_raw_connect (path)), >=, 0);
  fd_huge = ls_test_raw_connect (path);
  ls_test_raw_write_all (fd_huge, huge, sizeof huge);
  fd_garbage = ls_test_raw_connect (path);
  ls_test_raw_write_all (fd_garbage, garbage, strlen (garbage));
  fd_half = ls_test_raw_connect (path);
  ls_test_raw_write_all (fd_half, half, sizeof half);
  shutdown (fd_half, SHUT_WR);

  /* A good secondary still gets through. */
  secondary = registered (protocol, FALSE);
  ls_single_instance_set_timeout (secondary, SAFETY_MS);
  send_async (secondary, "good", &sent);
  g_assert_true (ls_test_run_until (&sent.done, SAFETY_MS));
  g_assert_no_error (sent.error);
  g_assert_true (sent.ok);

  /* Every hostile peer is dropped without an answer. */
  for (guint i = 0; i < G_N_ELEMENTS (idle); i++)
    g_assert_true (ls_test_raw_sees_eof (idle[i], SAFETY_MS));
  g_assert_true (ls_test_raw_sees_eof (fd_huge, SAFETY_MS));
  g_assert_true (ls_test_raw_sees_eof (fd_garbage, SAFETY_MS));
  g_assert_true (ls_test_raw_sees_eof (fd_half, SAFETY_MS));
  g_assert_cmpuint (inbox.messages->len, ==, 1);
  g_assert_cmpstr (inbox.messages->pdata[0], ==, "good");

  ls_test_close_fds (idle, G_N_ELEMENTS (idle));
  close (fd_huge);
  close (fd_garbage);
  close (fd_half);
  inbox_clear (&inbox);
}

/* A peer that sent its message and left before the answer: no answer can
 * be delivered, so nothing is announced. */
static void
test_peer_left_before_answer (LsTestFixture *f, gconstpointer data)
{
  LsSingleInstanceProtocol protocol = PROTOCOL (data);
  g_autoptr(LsSingleInstance) primary = registered (protocol, TRUE);
  g_autoptr(LsSingleInstance) secondary = registered (protocol, FALSE);
  g_autofree char *path = socket_path (f, primary);
  static const guint8 frame[7] = { 0, 0, 0, 3, 'b', 'y', 'e' };
  int fd = ls_test_raw_connect (path);
  Inbox inbox;

  inbox_attach (&inbox, primary);
  ls_test_raw_write_all (fd, frame, sizeof frame);
  close (fd);
  /* A message after it proves the first was processed. */
  send_in_loop (secondary, "after");
  ls_test_run_for (100);
  g_assert_cmpuint (inbox.messages->len, ==, 1);
  g_assert_cmpstr (inbox.messages->pdata[0], ==, "after");
  inbox_clear (&inbox);
}

/* A "primary" that is not one: it hangs up, or answers something else. */
typedef struct
{
  int listen_fd;
  int fd;
} RawPrimary;

static gboolean
raw_accepted (gpointer data)
{
  RawPrimary *raw = data;

  raw->fd = accept4 (raw->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
  return raw->fd >= 0;
}

static void
test_bad_primary (LsTestFixture *f, gconstpointer data)
{
  LsSingleInstanceProtocol protocol = PROTOCOL (data);
  g_autofree char *path = socket_path_for (f, protocol);
  static const char wrong_qt[] = "nak";
  static const guint8 wrong_ls[5] = { 0, 0, 0, 1, 'x' };
  RawPrimary raw = { .listen_fd = ls_test_raw_listen (path, 4) };
  g_autoptr(LsSingleInstance) secondary = NULL;

  g_assert_no_errno (fcntl (raw.listen_fd, F_SETFL, O_NONBLOCK));
  /* Something listens: a secondary. */
  secondary = registered (protocol, FALSE);
  ls_single_instance_set_timeout (secondary, SAFETY_MS);
  /* Registering probed it: that connection is not a message. */
  while (raw_accepted (&raw))
    close (raw.fd);

  for (guint round = 0; round < 2; round++)
    {
      g_autofree char *frame = NULL;
      Sent sent;

      send_async (secondary, "hi", &sent);
      g_assert_true (ls_test_run_until_cond (raw_accepted, &raw, SAFETY_MS));
      frame = ls_test_raw_recv (raw.fd, 6, SAFETY_MS);
      g_assert_cmpmem (frame, 6, "\0\0\0\2hi", 6);
      if (round == 0)
        {
          close (raw.fd);   /* hangs up without an answer */
          g_assert_true (ls_test_run_until (&sent.done, SAFETY_MS));
          g_assert_error (sent.error, LS_SOCKET_ERROR, LS_SOCKET_ERROR_PEER_CLOSED);
        }
      else
        {
          if (protocol == LS_SINGLE_INSTANCE_PROTOCOL_QT_LOCAL_PEER)
            ls_test_raw_write_all (raw.fd, wrong_qt, 3);
          else
            ls_test_raw_write_all (raw.fd, wrong_ls, sizeof wrong_ls);
          g_assert_true (ls_test_run_until (&sent.done, SAFETY_MS));
          g_assert_error (sent.error, LS_SOCKET_ERROR, LS_SOCKET_ERROR_CONNECTION);
          close (raw.fd);
        }
      g_assert_false (sent.ok);
      ls_test_assert_error_text (sent.error->message, "send a message to the primary instance", path);
      g_clear_error (&sent.error);
    }
  close (raw.listen_fd);
}

/* ---- Handlers may do anything -------------------------------------------- */

typedef enum
{
  DO_RELEASE,
  DO_UNREF,
  DO_REREGISTER,
} Action;

typedef struct
{
  Action             action;
  LsSingleInstance  *instance;   /* the test's reference, for DO_UNREF */
  guint              calls;
} HandlerCase;

static void
on_message_act (LsSingleInstance *instance, GBytes *message, HandlerCase *hc)
{
  hc->calls++;
  switch (hc->action)
    {
    case DO_RELEASE:
      ls_single_instance_release (instance);
      break;
    case DO_UNREF:
      g_clear_object (&hc->instance);
      break;
    case DO_REREGISTER:
      ls_single_instance_release (instance);
      g_assert_true (ls_single_instance_register (instance, NULL, NULL));
      g_assert_true (ls_single_instance_is_primary (instance));
      break;
    }
}

static void
test_handler_actions (LsTestFixture *f, gconstpointer data)
{
  LsSingleInstanceProtocol protocol = PROTOCOL (data);

  for (Action action = DO_RELEASE; action <= DO_REREGISTER; action++)
    {
      HandlerCase hc = { .action = action };
      g_autoptr(LsSingleInstance) secondary = NULL;
      g_autofree char *path = NULL;
      gpointer weak;
      Sent sent;

      hc.instance = registered (protocol, TRUE);
      weak = hc.instance;
      g_object_add_weak_pointer (G_OBJECT (hc.instance), &weak);
      path = socket_path (f, hc.instance);
      g_signal_connect (hc.instance, "message-received", G_CALLBACK (on_message_act), &hc);

      secondary = registered (protocol, FALSE);
      /* Two secondaries in flight at once: the handler acts while the
       * other connection may be open. */
      send_in_loop (secondary, "one");
      g_assert_cmpuint (hc.calls, ==, 1);

      switch (action)
        {
        case DO_RELEASE:
        case DO_UNREF:
          g_assert_false (ls_test_path_exists (path));
          g_assert_true ((action == DO_UNREF) == (weak == NULL));
          /* Nobody serves now: the next message times out. */
          ls_single_instance_set_timeout (secondary, 100);
          send_async (secondary, "two", &sent);
          g_assert_true (ls_test_run_until (&sent.done, SAFETY_MS));
          g_assert_error (sent.error, LS_SOCKET_ERROR, LS_SOCKET_ERROR_SOCKET_TIMEOUT);
          g_clear_error (&sent.error);
          break;
        case DO_REREGISTER:
          send_in_loop (secondary, "two");
          g_assert_cmpuint (hc.calls, ==, 2);
          break;
        }
      g_assert_cmpuint (hc.calls, ==, action == DO_REREGISTER ? 2 : 1);
      if (weak != NULL)
        g_object_remove_weak_pointer (G_OBJECT (hc.instance), &weak);
      g_clear_object (&hc.instance);
    }
}

/* Callbacks that drop or release the instance that called them. */
typedef struct
{
  Action    action;
  gboolean  done;
  gboolean  ok;
} CallbackCase;

static void
callback_act (CallbackCase *cc, GObject *source, gboolean ok)
{
  cc->ok = ok;
  cc->done = TRUE;
  if (cc->action == DO_UNREF)
    g_object_unref (source);
  else if (cc->action == DO_RELEASE)
    ls_single_instance_release (LS_SINGLE_INSTANCE (source));
}

static void
on_sent_act (GObject *source, GAsyncResult *result, gpointer data)
{
  callback_act (data, source,
                ls_single_instance_send_message_finish (LS_SINGLE_INSTANCE (source), result, NULL));
}

static void
on_registered_act (GObject *source, GAsyncResult *result, gpointer data)
{
  callback_act (data, source,
                ls_single_instance_register_finish (LS_SINGLE_INSTANCE (source), result, NULL));
}

static void
test_callback_actions (LsTestFixture *f, gconstpointer data)
{
  LsSingleInstanceProtocol protocol = PROTOCOL (data);
  g_autoptr(LsSingleInstance) primary = registered (protocol, TRUE);
  g_autofree char *path = socket_path (f, primary);
  Inbox inbox;

  inbox_attach (&inbox, primary);
  for (Action action = DO_RELEASE; action <= DO_UNREF; action++)
    {
      CallbackCase cc = { .action = action };
      LsSingleInstance *secondary = registered (protocol, FALSE);
      g_autoptr(GBytes) message = g_bytes_new_static ("cb", 2);
      gpointer weak = secondary;

      g_object_add_weak_pointer (G_OBJECT (secondary), &weak);
      ls_single_instance_send_message_async (secondary, message, NULL, on_sent_act, &cc);
      /* The pending call keeps it alive even when the caller lets go. */
      if (action == DO_UNREF)
        g_object_ref (secondary);
      g_object_unref (secondary);
      g_assert_true (ls_test_run_until (&cc.done, SAFETY_MS));
      g_assert_true (cc.ok);
      ls_test_run_for (10);
      g_assert_null (weak);
    }
  g_assert_cmpuint (inbox.messages->len, ==, 2);

  /* register_async: the callback drops or releases its instance. */
  ls_single_instance_release (primary);
  for (Action action = DO_RELEASE; action <= DO_UNREF; action++)
    {
      CallbackCase cc = { .action = action };
      LsSingleInstance *instance = instance_new (protocol);
      gpointer weak = instance;

      g_object_add_weak_pointer (G_OBJECT (instance), &weak);
      ls_single_instance_register_async (instance, NULL, on_registered_act, &cc);
      if (action == DO_RELEASE)
        g_object_unref (instance);   /* the pending call holds it */
      g_assert_true (ls_test_run_until (&cc.done, SAFETY_MS));
      g_assert_true (cc.ok);
      ls_test_run_for (10);
      g_assert_null (weak);
      g_assert_false (ls_test_path_exists (path));
    }
  inbox_clear (&inbox);
}

/* ---- Cancellation -------------------------------------------------------- */

static gboolean
cancel_cb (gpointer data)
{
  g_cancellable_cancel (data);
  return G_SOURCE_REMOVE;
}

static gpointer
iterate_once (gpointer context)
{
  g_main_context_iteration (context, TRUE);
  return NULL;
}

static void
test_cancel (LsTestFixture *f, gconstpointer data)
{
  LsSingleInstanceProtocol protocol = PROTOCOL (data);
  g_autoptr(LsSingleInstance) secondary = instance_new (protocol);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GBytes) message = g_bytes_new_static ("never", 5);
  GError *error = NULL;
  Sent sent = { 0 };
  int lock_fd;

  /* Someone holds the election lock and never listens: the secondary
   * retries until cancelled (no timeout). */
  lock_fd = take_election_lock (f, protocol);
  g_assert_true (ls_single_instance_register (secondary, NULL, NULL));
  g_assert_false (ls_single_instance_is_primary (secondary));
  ls_single_instance_set_timeout (secondary, -1);

  ls_single_instance_send_message_async (secondary, message, cancellable, on_sent, &sent);
  g_timeout_add (50, cancel_cb, cancellable);
  g_assert_true (ls_test_run_until (&sent.done, SAFETY_MS));
  g_assert_error (sent.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&sent.error);

  /* Already cancelled: at once, and still never inside the call. */
  memset (&sent, 0, sizeof sent);
  ls_single_instance_send_message_async (secondary, message, cancellable, on_sent, &sent);
  g_assert_false (sent.done);
  g_assert_true (ls_test_run_until (&sent.done, SAFETY_MS));
  g_assert_error (sent.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&sent.error);

  /* The sync call, cancelled from another thread. */
  g_cancellable_reset (cancellable);
  {
    GSource *source = g_timeout_source_new (50);
    GMainContext *context = g_main_context_new ();
    GThread *thread;

    g_source_set_callback (source, cancel_cb, cancellable, NULL);
    g_source_attach (source, context);
    thread = g_thread_new ("canceller", iterate_once, context);
    g_assert_false (ls_single_instance_send_message (secondary, message, cancellable, &error));
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
    g_clear_error (&error);
    g_thread_join (thread);
    g_source_unref (source);
    g_main_context_unref (context);
  }

  /* A timeout instead: SOCKET_TIMEOUT, naming the last failure. */
  ls_single_instance_set_timeout (secondary, 100);
  g_assert_false (ls_single_instance_send_message (secondary, message, NULL, &error));
  g_assert_error (error, LS_SOCKET_ERROR, LS_SOCKET_ERROR_SOCKET_TIMEOUT);
  ls_test_assert_contains (error->message, "no primary instance listening");
  g_clear_error (&error);
  close (lock_fd);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  /* GTask's class makes a main context (a descriptor) once per process: not
   * a descriptor of the first test that sends. */
  g_type_ensure (G_TYPE_TASK);

  g_test_add ("/ls/single-instance/properties", LsTestFixture, NULL, ls_test_fixture_setup_dir,
              test_properties, ls_test_fixture_teardown);
  g_test_add ("/ls/single-instance/qt-names", LsTestFixture, NULL, ls_test_fixture_setup_dir,
              test_qt_names, ls_test_fixture_teardown);
  add_protocol_tests ("/ls/single-instance/roles", test_roles);
  add_protocol_tests ("/ls/single-instance/register-async", test_register_async);
  add_protocol_tests ("/ls/single-instance/sync-send", test_sync_send);
  add_protocol_tests ("/ls/single-instance/stale-socket", test_stale_socket);
  add_protocol_tests ("/ls/single-instance/not-a-socket", test_not_a_socket);
  add_protocol_tests ("/ls/single-instance/bad-places", test_bad_places);
  add_protocol_tests ("/ls/single-instance/primary-killed", test_primary_killed);
  add_protocol_tests ("/ls/single-instance/blocked-primary", test_blocked_primary);
  add_protocol_tests ("/ls/single-instance/lock-window", test_lock_window);
  add_protocol_tests ("/ls/single-instance/hostile-peers", test_hostile_peers);
  add_protocol_tests ("/ls/single-instance/peer-left-before-answer", test_peer_left_before_answer);
  add_protocol_tests ("/ls/single-instance/bad-primary", test_bad_primary);
  add_protocol_tests ("/ls/single-instance/handler-actions", test_handler_actions);
  add_protocol_tests ("/ls/single-instance/callback-actions", test_callback_actions);
  add_protocol_tests ("/ls/single-instance/cancel", test_cancel);
  add_protocol_tests ("/ls/single-instance/simultaneous", test_simultaneous);

  return g_test_run ();
}
