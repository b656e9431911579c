/* lsock-inspect.c: lsock probe and lsock list
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Who listens comes from /proc/net/unix (no connection is made); a socket
 * file that is not listed there (another network namespace, say) is
 * checked with a connect through Ls, which a stale socket refuses.
 */
#include "lsock-private.h"

#include <errno.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/sysmacros.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SO_ACCEPTCON_FLAG 0x10000   /* __SO_ACCEPTCON: a listening socket */
/* probe --wait looks again this often. */
#define PROBE_WAIT_INTERVAL_MS 100

typedef struct
{
  char    *name;       /* a path, or "@name" for an abstract address */
  char    *state;      /* live, stale, unlinked */
  gboolean abstract;
  gboolean have_stat;
  guint    uid;
  guint    mode;
  guint64  inode;      /* of the listening socket, 0 if unknown */
  int      pid;        /* 0 if unknown */
  char    *process;
} Entry;

static void
entry_free (Entry *e)
{
  g_free (e->name);
  g_free (e->state);
  g_free (e->process);
  g_free (e);
}

/* Listening stream sockets, by the name they were bound to ("@name" for
 * abstract ones) and, where the kernel tells (sock_diag), by the device
 * and inode of their socket file: Ls and Qt may bind under a temporary
 * name and rename, so the bound name is not always the path. */
typedef struct
{
  GHashTable *by_name;   /* name -> guint64 socket inode */
  GHashTable *by_file;   /* "dev:ino" -> guint64 socket inode */
} Listeners;

static void
listeners_clear (Listeners *l)
{
  g_clear_pointer (&l->by_name, g_hash_table_unref);
  g_clear_pointer (&l->by_file, g_hash_table_unref);
}

static void
add_listener (GHashTable *table,
              char       *key,
              guint64     inode)
{
  guint64 *value = g_new (guint64, 1);

  *value = inode;
  g_hash_table_replace (table, key, value);
}

static char *
file_key (dev_t   dev,
          guint64 ino)
{
  return g_strdup_printf ("%u:%u:%" G_GUINT64_FORMAT, major (dev), minor (dev), ino);
}

static gboolean
read_listening_diag (Listeners *l)
{
  struct
  {
    struct nlmsghdr        nlh;
    struct unix_diag_req   req;
  } request = { 0 };
  struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
  int fd = socket (AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
  gboolean done = FALSE, ok = FALSE;
  guint8 buffer[32768];

  if (fd < 0)
    return FALSE;
  request.nlh.nlmsg_len = sizeof request;
  request.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
  request.nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  request.req.sdiag_family = AF_UNIX;
  request.req.udiag_states = 1 << 10;     /* TCP_LISTEN */
  request.req.udiag_show = UDIAG_SHOW_NAME | UDIAG_SHOW_VFS;
  if (sendto (fd, &request, sizeof request, 0, (struct sockaddr *) &kernel, sizeof kernel) < 0)
    goto out;

  while (!done)
    {
      ssize_t n = recv (fd, buffer, sizeof buffer, 0);
      struct nlmsghdr *h;

      if (n <= 0)
        goto out;
      for (h = (struct nlmsghdr *) buffer; NLMSG_OK (h, (size_t) n); h = NLMSG_NEXT (h, n))
        {
          struct unix_diag_msg *msg;
          struct rtattr *attr;
          int len;
          char *name = NULL;
          gboolean have_vfs = FALSE;
          struct unix_diag_vfs vfs = { 0 };

          if (h->nlmsg_type == NLMSG_DONE)
            {
              done = TRUE;
              ok = TRUE;
              break;
            }
          if (h->nlmsg_type == NLMSG_ERROR)
            goto out;
          msg = NLMSG_DATA (h);
          if (msg->udiag_type != SOCK_STREAM)
            continue;
          attr = (struct rtattr *) (msg + 1);
          len = h->nlmsg_len - NLMSG_LENGTH (sizeof *msg);
          for (; RTA_OK (attr, len); attr = RTA_NEXT (attr, len))
            {
              if (attr->rta_type == UNIX_DIAG_NAME && RTA_PAYLOAD (attr) > 0)
                {
                  const char *raw = RTA_DATA (attr);
                  gsize size = RTA_PAYLOAD (attr);

                  g_free (name);
                  if (raw[0] == '\0')
                    {
                      g_autofree char *abstract = g_strndup (raw + 1, size - 1);
                      name = g_strconcat ("@", abstract, NULL);
                    }
                  else
                    name = g_strndup (raw, size);
                }
              else if (attr->rta_type == UNIX_DIAG_VFS && RTA_PAYLOAD (attr) >= sizeof vfs)
                {
                  memcpy (&vfs, RTA_DATA (attr), sizeof vfs);
                  have_vfs = TRUE;
                }
            }
          if (name != NULL)
            add_listener (l->by_name, name, msg->udiag_ino);
          if (have_vfs)
            /* The kernel's dev_t: major in the top 12 bits, minor below. */
            add_listener (l->by_file,
                          file_key (makedev (vfs.udiag_vfs_dev >> 20, vfs.udiag_vfs_dev & 0xfffff),
                                    vfs.udiag_vfs_ino),
                          msg->udiag_ino);
        }
    }
out:
  close (fd);
  return ok;
}

static void
read_listening_proc (Listeners *l)
{
  g_autofree char *contents = NULL;
  g_auto(GStrv) lines = NULL;

  if (!g_file_get_contents ("/proc/net/unix", &contents, NULL, NULL))
    return;
  lines = g_strsplit (contents, "\n", -1);
  for (guint i = 1; lines[i] != NULL; i++)
    {
      unsigned int refcount, protocol, flags, type, st;
      unsigned long inode;
      int consumed = 0;
      const char *path;

      if (sscanf (lines[i], "%*[0-9a-fA-F]: %x %x %x %x %x %lu %n",
                  &refcount, &protocol, &flags, &type, &st, &inode, &consumed) < 6)
        continue;
      if (type != 1 || !(flags & SO_ACCEPTCON_FLAG) || consumed == 0)
        continue;
      path = lines[i] + consumed;
      if (path[0] != '\0')
        add_listener (l->by_name, g_strdup (path), inode);
    }
}

static void
read_listening (Listeners *l)
{
  l->by_name = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  l->by_file = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  if (!read_listening_diag (l))
    {
      g_hash_table_remove_all (l->by_name);
      g_hash_table_remove_all (l->by_file);
      read_listening_proc (l);
    }
}

/* The listening socket behind a socket file, or NULL. */
static guint64 *
lookup_file (Listeners         *l,
             const char        *path,
             const struct stat *st)
{
  g_autofree char *key = file_key (st->st_dev, st->st_ino);
  guint64 *inode = g_hash_table_lookup (l->by_file, key);

  if (inode == NULL && g_hash_table_size (l->by_file) == 0)
    inode = g_hash_table_lookup (l->by_name, path);
  return inode;
}

/* inode -> "pid comm", for the inodes asked for, where /proc lets us see. */
static void
find_processes (GPtrArray *entries)
{
  g_autoptr(GHashTable) wanted = g_hash_table_new (g_int64_hash, g_int64_equal);
  g_autoptr(GDir) proc = g_dir_open ("/proc", 0, NULL);
  const char *pid_name;

  for (guint i = 0; i < entries->len; i++)
    {
      Entry *e = g_ptr_array_index (entries, i);
      if (e->inode != 0)
        g_hash_table_insert (wanted, &e->inode, e);
    }
  if (proc == NULL || g_hash_table_size (wanted) == 0)
    return;
  while ((pid_name = g_dir_read_name (proc)) != NULL)
    {
      g_autofree char *fd_dir_path = NULL;
      g_autoptr(GDir) fd_dir = NULL;
      const char *fd_name;

      if (!g_ascii_isdigit (pid_name[0]))
        continue;
      fd_dir_path = g_strdup_printf ("/proc/%s/fd", pid_name);
      fd_dir = g_dir_open (fd_dir_path, 0, NULL);
      if (fd_dir == NULL)
        continue;
      while ((fd_name = g_dir_read_name (fd_dir)) != NULL)
        {
          g_autofree char *link_path = g_strdup_printf ("%s/%s", fd_dir_path, fd_name);
          g_autofree char *target = g_file_read_link (link_path, NULL);
          guint64 inode;
          Entry *e;

          if (target == NULL || !g_str_has_prefix (target, "socket:["))
            continue;
          inode = g_ascii_strtoull (target + 8, NULL, 10);
          e = g_hash_table_lookup (wanted, &inode);
          if (e != NULL && e->pid == 0)
            {
              g_autofree char *comm_path = g_strdup_printf ("/proc/%s/comm", pid_name);
              g_autofree char *comm = NULL;

              e->pid = atoi (pid_name);
              if (g_file_get_contents (comm_path, &comm, NULL, NULL))
                e->process = g_strdup (g_strstrip (comm));
            }
        }
    }
}

typedef enum
{
  CONNECT_LIVE,
  CONNECT_REFUSED,
  CONNECT_MISSING,
  CONNECT_DENIED,
} ConnectResult;

/* The authoritative check, for what /proc/net/unix does not show. */
static ConnectResult
try_connect (const char *name,
             gboolean    abstract)
{
  g_autoptr(LsLocalSocket) socket = ls_local_socket_new ();

  if (abstract)
    ls_local_socket_set_socket_options (socket, LS_SOCKET_OPTION_ABSTRACT_NAMESPACE);
  ls_local_socket_connect_to_server (socket, name);
  /* Still connecting: the listen backlog is full, so someone listens. */
  if (ls_local_socket_get_state (socket) != LS_LOCAL_SOCKET_STATE_UNCONNECTED)
    {
      ls_local_socket_abort (socket);
      return CONNECT_LIVE;
    }
  switch (ls_local_socket_get_error (socket))
    {
    case LS_SOCKET_ERROR_SOCKET_TIMEOUT:
      return CONNECT_LIVE;
    case LS_SOCKET_ERROR_SERVER_NOT_FOUND:
      return CONNECT_MISSING;
    case LS_SOCKET_ERROR_SOCKET_ACCESS:
      return CONNECT_DENIED;
    default:
      return CONNECT_REFUSED;
    }
}

static const char *
file_kind (mode_t mode)
{
  if (S_ISREG (mode)) return "regular file";
  if (S_ISDIR (mode)) return "directory";
  if (S_ISFIFO (mode)) return "fifo";
  if (S_ISCHR (mode)) return "character device";
  if (S_ISBLK (mode)) return "block device";
  if (S_ISLNK (mode)) return "symbolic link";
  return "not a socket";
}

static char *
owner_name (guint uid)
{
  struct passwd *pw = getpwuid (uid);

  return pw != NULL ? g_strdup (pw->pw_name) : g_strdup_printf ("%u", uid);
}

static void
add_entry_members (JsonBuilder *b,
                   Entry       *e)
{
  json_builder_set_member_name (b, "name");
  lsock_json_add_text (b, e->name);
  json_builder_set_member_name (b, "abstract");
  json_builder_add_boolean_value (b, e->abstract);
  json_builder_set_member_name (b, "state");
  json_builder_add_string_value (b, e->state);
  json_builder_set_member_name (b, "uid");
  if (e->have_stat) json_builder_add_int_value (b, e->uid); else json_builder_add_null_value (b);
  json_builder_set_member_name (b, "owner");
  if (e->have_stat)
    {
      g_autofree char *owner = owner_name (e->uid);
      lsock_json_add_text (b, owner);
    }
  else
    json_builder_add_null_value (b);
  json_builder_set_member_name (b, "mode");
  if (e->have_stat)
    {
      g_autofree char *mode = g_strdup_printf ("%04o", e->mode);
      json_builder_add_string_value (b, mode);
    }
  else
    json_builder_add_null_value (b);
  json_builder_set_member_name (b, "pid");
  if (e->pid > 0) json_builder_add_int_value (b, e->pid); else json_builder_add_null_value (b);
  json_builder_set_member_name (b, "process");
  lsock_json_add_text (b, e->process);
}

/* ---- probe ------------------------------------------------------------- */

/* What is at @path now: fills @e (name, state, owner...) and *kind for
 * not-a-socket; returns the state's status, or -1 after failing (an
 * error that no state describes, reported). */
static int
probe_once (const char  *path,
            gboolean     abstract,
            Entry       *e,
            char       **kind)
{
  Listeners listening = { 0 };
  guint64 *inode;
  struct stat st;
  int status = -1;

  g_clear_pointer (&e->state, g_free);
  g_clear_pointer (kind, g_free);
  e->have_stat = FALSE;
  e->inode = 0;
  read_listening (&listening);

  if (abstract)
    {
      inode = g_hash_table_lookup (listening.by_name, e->name);
      if (inode != NULL)
        e->inode = *inode;
      if (inode != NULL || try_connect (path, TRUE) == CONNECT_LIVE)
        {
          e->state = g_strdup ("live");
          status = LSOCK_EXIT_OK;
        }
      else
        {
          e->state = g_strdup ("missing");
          status = LSOCK_EXIT_NOT_FOUND;
        }
    }
  /* Follow symbolic links, as a connect does. */
  else if (stat (path, &st) != 0)
    {
      int saved = errno;

      if (saved == ENOENT || saved == ENOTDIR)
        {
          e->state = g_strdup ("missing");
          status = LSOCK_EXIT_NOT_FOUND;
        }
      else
        lsock_fail (saved == EACCES ? LSOCK_EXIT_ACCESS : LSOCK_EXIT_IO, path,
                    "cannot examine: %s", g_strerror (saved));
    }
  else
    {
      e->have_stat = TRUE;
      e->uid = st.st_uid;
      e->mode = st.st_mode & 07777;
      if (!S_ISSOCK (st.st_mode))
        {
          e->state = g_strdup ("not-a-socket");
          *kind = g_strdup (file_kind (st.st_mode));
          status = LSOCK_EXIT_NOT_SOCKET;
        }
      else if ((inode = lookup_file (&listening, path, &st)) != NULL)
        {
          e->inode = *inode;
          e->state = g_strdup ("live");
          status = LSOCK_EXIT_OK;
        }
      else
        switch (try_connect (path, FALSE))
          {
          case CONNECT_LIVE:
            e->state = g_strdup ("live");
            status = LSOCK_EXIT_OK;
            break;
          case CONNECT_DENIED:
            lsock_fail (LSOCK_EXIT_ACCESS, path,
                        "permission denied: cannot tell a live socket from a stale one");
            break;
          case CONNECT_MISSING:
            e->state = g_strdup ("missing");
            e->have_stat = FALSE;
            status = LSOCK_EXIT_NOT_FOUND;
            break;
          case CONNECT_REFUSED:
          default:
            e->state = g_strdup ("stale");
            status = LSOCK_EXIT_REFUSED;
            break;
          }
    }
  listeners_clear (&listening);
  return status;
}

typedef struct
{
  const char *path;
  gboolean    abstract;
  Entry      *entry;
  char      **kind;
  gint64      deadline;     /* monotonic; G_MAXINT64: none */
  int         status;
} ProbeWait;

static gboolean
probe_again (gpointer data)
{
  ProbeWait *w = data;

  w->status = probe_once (w->path, w->abstract, w->entry, w->kind);
  if (w->status == LSOCK_EXIT_OK || w->status < 0 || g_get_monotonic_time () >= w->deadline)
    {
      lsock_quit (w->status < 0 ? lsock_app.status : w->status);
      return G_SOURCE_REMOVE;
    }
  return G_SOURCE_CONTINUE;
}

static void
print_probe (Entry      *e,
             const char *kind,
             gboolean    json)
{
  if (json)
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();

      json_builder_begin_object (b);
      add_entry_members (b, e);
      json_builder_set_member_name (b, "type");
      lsock_json_add_text (b, kind != NULL ? kind : (e->have_stat || e->abstract) &&
                          !g_str_equal (e->state, "missing") ? "socket" : NULL);
      json_builder_end_object (b);
      lsock_print_json (stdout, b);
    }
  else
    {
      g_autoptr(GString) line = g_string_new (NULL);
      g_autofree char *name = lsock_escape (e->name, FALSE);

      g_string_append_printf (line, "%s %s", e->state, name);
      if (kind != NULL)
        g_string_append_printf (line, " (%s)", kind);
      if (e->have_stat)
        {
          g_autofree char *owner = owner_name (e->uid);
          g_autofree char *shown_owner = lsock_escape (owner, FALSE);

          g_string_append_printf (line, " owner %s (uid %u) mode %04o", shown_owner, e->uid, e->mode);
        }
      if (e->pid > 0)
        {
          g_autofree char *process = lsock_escape (e->process ? e->process : "?", FALSE);

          g_string_append_printf (line, " pid %d (%s)", e->pid, process);
        }
      printf ("%s\n", line->str);
    }
  fflush (stdout);
}

int
lsock_cmd_probe (int    argc,
                 char **argv)
{
  gboolean abstract = FALSE, json = FALSE;
  g_autofree char *wait = NULL;
  double wait_seconds = -1;
  GOptionEntry entries[] = {
    { "abstract", 'a', 0, G_OPTION_ARG_NONE, &abstract, NULL, NULL },
    { "json", 'j', 0, G_OPTION_ARG_NONE, &json, NULL, NULL },
    { "wait", 0, 0, G_OPTION_ARG_STRING, &wait, NULL, NULL },
    G_OPTION_ENTRY_NULL
  };
  g_autoptr(GPtrArray) list = g_ptr_array_new_with_free_func ((GDestroyNotify) entry_free);
  g_autofree char *path = NULL;
  g_autofree char *kind = NULL;
  Entry *e;
  int status;

  /* --wait[=SECONDS]: GOption would read "--wait NAME" as --wait=NAME,
   * so a bare --wait is made "--wait=", no limit. */
  for (int i = 1; i < argc && !g_str_equal (argv[i], "--"); i++)
    if (g_str_equal (argv[i], "--wait"))
      argv[i] = (char *) "--wait=";
  if ((status = lsock_parse_command_line (entries, &argc, &argv, 1, 1, "NAME")) >= 0)
    return status;
  if (wait != NULL && wait[0] != '\0' && !lsock_parse_seconds (wait, &wait_seconds))
    return lsock_usage_error ("--wait=“%s”: not a number of seconds (0 or more)", wait);

  path = lsock_resolve_name (argv[1], abstract);
  if (strlen (path) + 1 > 108)
    {
      lsock_fail (LSOCK_EXIT_NOT_FOUND, path, "name too long for a local socket address "
                  "(%" G_GSIZE_FORMAT " bytes, at most 107)", strlen (path));
      return LSOCK_EXIT_NOT_FOUND;
    }
  e = g_new0 (Entry, 1);
  g_ptr_array_add (list, e);
  e->abstract = abstract;
  e->name = abstract ? g_strconcat ("@", path, NULL) : g_strdup (path);

  status = probe_once (path, abstract, e, &kind);
  if (wait != NULL && status > 0)
    {
      ProbeWait w = { path, abstract, e, &kind, G_MAXINT64, status };

      if (wait_seconds >= 0)
        w.deadline = g_get_monotonic_time () + (gint64) MIN (wait_seconds * G_USEC_PER_SEC,
                                                             (double) (G_MAXINT64 / 2));
      g_timeout_add (PROBE_WAIT_INTERVAL_MS, probe_again, &w);
      lsock_run ();
      g_source_remove_by_user_data (&w);
      /* Interrupted: the signal's status, and nothing printed. */
      if (lsock_app.status > 128)
        return lsock_app.status;
      status = w.status;
    }
  if (status < 0)
    return lsock_app.status;
  find_processes (list);
  print_probe (e, kind, json);
  return status;
}

/* ---- list -------------------------------------------------------------- */

static gint
compare_entries (gconstpointer a,
                 gconstpointer b)
{
  const Entry *ea = *(Entry **) a, *eb = *(Entry **) b;

  if (ea->abstract != eb->abstract)
    return ea->abstract ? 1 : -1;
  return strcmp (ea->name, eb->name);
}

static void
scan_directory (const char  *dir,
                Listeners   *listening,
                GHashTable  *seen,
                GHashTable  *matched,
                GPtrArray   *list)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;

  if (d == NULL)
    return;
  while ((name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *path = g_build_filename (dir, name, NULL);
      struct stat st;
      Entry *e;

      if (g_hash_table_contains (seen, path) || lstat (path, &st) != 0 || !S_ISSOCK (st.st_mode))
        continue;
      e = g_new0 (Entry, 1);
      e->name = g_strdup (path);
      e->have_stat = TRUE;
      e->uid = st.st_uid;
      e->mode = st.st_mode & 07777;
      {
        guint64 *inode = lookup_file (listening, path, &st);

        if (inode != NULL)
          {
            e->inode = *inode;
            e->state = g_strdup ("live");
            g_hash_table_add (matched, inode);
          }
        else
          e->state = g_strdup (try_connect (path, FALSE) == CONNECT_LIVE ? "live" : "stale");
      }
      g_hash_table_add (seen, g_steal_pointer (&path));
      g_ptr_array_add (list, e);
    }
}

int
lsock_cmd_list (int    argc,
                char **argv)
{
  gboolean json = FALSE;
  GOptionEntry entries[] = {
    { "json", 'j', 0, G_OPTION_ARG_NONE, &json, NULL, NULL },
    G_OPTION_ENTRY_NULL
  };
  Listeners listening = { 0 };
  g_autoptr(GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GHashTable) matched = g_hash_table_new (NULL, NULL);   /* guint64* of listeners shown */
  g_autoptr(GPtrArray) list = g_ptr_array_new_with_free_func ((GDestroyNotify) entry_free);
  g_autofree char *probe = NULL;
  g_autofree char *tmpdir = NULL;
  GHashTableIter iter;
  gpointer key, value;
  int status;

  if ((status = lsock_parse_command_line (entries, &argc, &argv, 0, 0, "")) >= 0)
    return status;

  read_listening (&listening);

  /* The directories Qt names resolve to: $TMPDIR (as Qt cleans it) and /tmp. */
  probe = lsock_resolve_name ("x", FALSE);
  tmpdir = g_path_get_dirname (probe);
  if (g_path_is_absolute (tmpdir))
    scan_directory (tmpdir, &listening, seen, matched, list);
  if (!g_str_equal (tmpdir, "/tmp"))
    scan_directory ("/tmp", &listening, seen, matched, list);

  /* Every other listener, under the name it was bound to. */
  g_hash_table_iter_init (&iter, listening.by_name);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      const char *name = key;
      guint64 inode = *(guint64 *) value;
      gboolean shown = FALSE;
      GHashTableIter m;
      gpointer mk;
      Entry *e;
      struct stat st;

      g_hash_table_iter_init (&m, matched);
      while (!shown && g_hash_table_iter_next (&m, &mk, NULL))
        shown = *(guint64 *) mk == inode;
      if (shown || g_hash_table_contains (seen, name))
        continue;
      e = g_new0 (Entry, 1);
      e->name = g_strdup (name);
      e->inode = inode;
      e->abstract = name[0] == '@';
      if (e->abstract)
        e->state = g_strdup ("live");
      else if (stat (name, &st) == 0 && S_ISSOCK (st.st_mode) &&
               lookup_file (&listening, name, &st) != NULL)
        {
          e->state = g_strdup ("live");
          e->have_stat = TRUE;
          e->uid = st.st_uid;
          e->mode = st.st_mode & 07777;
        }
      else
        e->state = g_strdup ("unlinked");   /* listening, but its file is gone or replaced */
      g_ptr_array_add (list, e);
    }
  listeners_clear (&listening);

  find_processes (list);
  g_ptr_array_sort (list, compare_entries);

  if (json)
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();

      json_builder_begin_array (b);
      for (guint i = 0; i < list->len; i++)
        {
          json_builder_begin_object (b);
          add_entry_members (b, g_ptr_array_index (list, i));
          json_builder_end_object (b);
        }
      json_builder_end_array (b);
      lsock_print_json (stdout, b);
    }
  else
    {
      g_autoptr(GPtrArray) rows = g_ptr_array_new_with_free_func ((GDestroyNotify) g_strfreev);
      int width[5] = { 0 };
      const char *header[] = { "NAME", "STATE", "OWNER", "MODE", "PROCESS", NULL };

      g_ptr_array_add (rows, g_strdupv ((char **) header));
      for (guint i = 0; i < list->len; i++)
        {
          Entry *e = g_ptr_array_index (list, i);
          char **row = g_new0 (char *, 6);

          g_autofree char *owner = e->have_stat ? owner_name (e->uid) : g_strdup ("-");
          g_autofree char *process = e->pid > 0 ? g_strdup_printf ("%d/%s", e->pid,
                                                                   e->process ? e->process : "?")
                                                : g_strdup ("-");

          /* Names and process names are anyone's: escaped, as the
           * first column too (a row must not pass for an error). */
          row[0] = lsock_escape (e->name, TRUE);
          row[1] = g_strdup (e->state);
          row[2] = lsock_escape (owner, FALSE);
          row[3] = e->have_stat ? g_strdup_printf ("%04o", e->mode) : g_strdup ("-");
          row[4] = lsock_escape (process, FALSE);
          g_ptr_array_add (rows, row);
        }
      for (guint i = 0; i < rows->len; i++)
        for (int c = 0; c < 5; c++)
          width[c] = MAX (width[c], (int) g_utf8_strlen (((char **) g_ptr_array_index (rows, i))[c], -1));
      for (guint i = 0; i < rows->len; i++)
        {
          char **row = g_ptr_array_index (rows, i);
          printf ("%-*s  %-*s  %-*s  %-*s  %s\n", width[0], row[0], width[1], row[1],
                  width[2], row[2], width[3], row[3], row[4]);
        }
    }
  fflush (stdout);
  return LSOCK_EXIT_OK;
}
