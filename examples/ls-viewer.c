/* ls-viewer.c: a single-instance GTK 4 file viewer built on LsSingleInstance
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The first launch opens a window; every later launch hands its command
 * line and working directory to it and exits, so that
 *
 *     ls-viewer notes.txt       # opens a window showing notes.txt
 *     ls-viewer photo.png       # the same window now shows photo.png
 *     ls-viewer --quit          # the first one quits
 *
 * GtkApplication would do this over D-Bus, which needs a session bus
 * (absent as root, over SSH, in containers and CI). Here the application is
 * G_APPLICATION_NON_UNIQUE and LsSingleInstance elects the primary instead:
 *
 *  1. before g_application_run (), register: a secondary sends its
 *     arguments and working directory (a GVariant "(ayaay)") and exits;
 *  2. the primary turns each message into a GApplicationCommandLine (with
 *     the sender's "cwd") and emits "command-line", so that one handler
 *     serves its own command line and forwarded ones alike;
 *  3. "shutdown" releases the instance: no socket file is left behind.
 *
 * It prints what it does ("primary", "showing PATH", "forwarded",
 * "released"), which the test suite reads (tests/python).
 */
#include <gtk/gtk.h>
#include <ls/ls.h>

#include <glib-unix.h>
#include <signal.h>
#include <stdio.h>

#define APP_ID "org.example.LsViewer"

typedef struct
{
  GtkApplication   *app;
  LsSingleInstance *instance;
  GtkWindow        *window;
  GtkStack         *stack;
  GtkTextBuffer    *text;
  GtkPicture       *picture;
  GCancellable     *loading;
} Viewer;

static void G_GNUC_PRINTF (1, 2)
say (const char *format, ...)
{
  va_list args;

  va_start (args, format);
  vprintf (format, args);
  va_end (args);
  putchar ('\n');
  fflush (stdout);
}

/* ---- The window ---------------------------------------------------------- */

static GtkWindow *
viewer_window (Viewer *viewer)
{
  GtkWidget *scrolled, *text_view;

  if (viewer->window != NULL)
    return viewer->window;

  viewer->window = GTK_WINDOW (gtk_application_window_new (viewer->app));
  gtk_window_set_title (viewer->window, "Ls Viewer");
  gtk_window_set_default_size (viewer->window, 640, 480);
  g_object_add_weak_pointer (G_OBJECT (viewer->window), (gpointer *) &viewer->window);

  viewer->stack = GTK_STACK (gtk_stack_new ());
  text_view = gtk_text_view_new ();
  gtk_text_view_set_editable (GTK_TEXT_VIEW (text_view), FALSE);
  gtk_text_view_set_monospace (GTK_TEXT_VIEW (text_view), TRUE);
  viewer->text = gtk_text_view_get_buffer (GTK_TEXT_VIEW (text_view));
  scrolled = gtk_scrolled_window_new ();
  gtk_scrolled_window_set_child (GTK_SCROLLED_WINDOW (scrolled), text_view);
  gtk_stack_add_named (viewer->stack, scrolled, "text");
  viewer->picture = GTK_PICTURE (gtk_picture_new ());
  gtk_stack_add_named (viewer->stack, GTK_WIDGET (viewer->picture), "picture");
  gtk_text_buffer_set_text (viewer->text, "Open a file: ls-viewer FILE", -1);
  gtk_window_set_child (viewer->window, GTK_WIDGET (viewer->stack));
  return viewer->window;
}

typedef struct
{
  Viewer *viewer;
  GFile  *file;
} Loading;

static void
on_loaded (GObject *source, GAsyncResult *result, gpointer data)
{
  Loading *loading = data;
  Viewer *viewer = loading->viewer;
  g_autofree char *path = g_file_get_path (loading->file);
  g_autofree char *contents = NULL;
  g_autoptr(GError) error = NULL;
  gsize length;

  if (!g_file_load_contents_finish (G_FILE (source), result, &contents, &length, NULL, &error))
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) && viewer->window != NULL)
        {
          gtk_text_buffer_set_text (viewer->text, error->message, -1);
          gtk_stack_set_visible_child_name (viewer->stack, "text");
          say ("cannot show %s: %s", path, error->message);
        }
    }
  else if (viewer->window != NULL)
    {
      g_autofree char *content_type = g_content_type_guess (path, (const guchar *) contents, length, NULL);

      if (g_content_type_is_a (content_type, "image/*"))
        {
          gtk_picture_set_file (viewer->picture, loading->file);
          gtk_stack_set_visible_child_name (viewer->stack, "picture");
        }
      else
        {
          /* Text views take UTF-8 only. */
          g_autofree char *text = g_utf8_make_valid (contents, length);

          gtk_text_buffer_set_text (viewer->text, text, -1);
          gtk_stack_set_visible_child_name (viewer->stack, "text");
        }
      say ("showing %s", path);
    }
  g_object_unref (loading->file);
  g_free (loading);
}

static void
viewer_show (Viewer *viewer, GFile *file)
{
  GtkWindow *window = viewer_window (viewer);
  g_autofree char *basename = g_file_get_basename (file);
  Loading *loading = g_new0 (Loading, 1);

  /* A newer file replaces one still loading. */
  g_cancellable_cancel (viewer->loading);
  g_clear_object (&viewer->loading);
  viewer->loading = g_cancellable_new ();

  gtk_window_set_title (window, basename);
  gtk_window_present (window);
  loading->viewer = viewer;
  loading->file = g_object_ref (file);
  g_file_load_contents_async (file, viewer->loading, on_loaded, loading);
}

/* ---- The command line: this launch's, or a forwarded one ----------------- */

static int
on_command_line (GApplication *app, GApplicationCommandLine *command_line, Viewer *viewer)
{
  g_auto(GStrv) argv = g_application_command_line_get_arguments (command_line, NULL);
  g_autoptr(GFile) last = NULL;

  for (guint i = 1; argv[i] != NULL; i++)
    {
      if (g_str_equal (argv[i], "--quit"))
        {
          g_application_quit (app);
          return 0;
        }
      /* Relative to the directory of the launch that gave it. */
      g_set_object (&last, g_application_command_line_create_file_for_arg (command_line, argv[i]));
    }
  if (last != NULL)
    viewer_show (viewer, last);
  else
    gtk_window_present (viewer_window (viewer));
  return 0;
}

/* The primary's side: a secondary's (cwd, argv) as a command line. */
static void
on_message_received (LsSingleInstance *instance, GBytes *message, Viewer *viewer)
{
  /* Not trusted: GVariant checks untrusted data as it reads it. */
  g_autoptr(GVariant) forwarded = g_variant_new_from_bytes (G_VARIANT_TYPE ("(ayaay)"), message, FALSE);
  g_autoptr(GVariant) cwd = g_variant_get_child_value (forwarded, 0);
  g_autoptr(GVariant) arguments = g_variant_get_child_value (forwarded, 1);
  g_autoptr(GApplicationCommandLine) command_line = NULL;
  GVariantDict platform_data;
  int status;

  g_variant_dict_init (&platform_data, NULL);
  g_variant_dict_insert_value (&platform_data, "cwd", cwd);
  command_line = g_object_new (G_TYPE_APPLICATION_COMMAND_LINE,
                               "arguments", arguments,
                               "platform-data", g_variant_dict_end (&platform_data),
                               NULL);
  say ("forwarded command line received");
  g_signal_emit_by_name (viewer->app, "command-line", command_line, &status);
}

/* The secondary's side. */
static int
forward (LsSingleInstance *instance, char **argv)
{
  g_autofree char *cwd = g_get_current_dir ();
  g_autoptr(GVariant) message = g_variant_ref_sink (g_variant_new ("(^ay^aay)", cwd, argv));
  g_autoptr(GBytes) bytes = g_variant_get_data_as_bytes (message);
  g_autoptr(GError) error = NULL;

  if (!ls_single_instance_send_message (instance, bytes, NULL, &error))
    {
      g_printerr ("ls-viewer: %s\n", error->message);
      return 1;
    }
  say ("forwarded to the running instance");
  return 0;
}

static gboolean
on_quit_signal (gpointer app)
{
  g_application_quit (app);
  return G_SOURCE_CONTINUE;
}

static void
on_shutdown (GApplication *app, Viewer *viewer)
{
  g_cancellable_cancel (viewer->loading);
  /* Removes the socket: the next launch becomes the primary at once. */
  ls_single_instance_release (viewer->instance);
  say ("released");
}

int
main (int argc, char **argv)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *name = NULL;
  Viewer viewer = { 0 };
  int status;

  /* $XDG_RUNTIME_DIR is private to the user; GLib falls back to the cache
   * directory without one. */
  name = g_build_filename (g_get_user_runtime_dir (), APP_ID, NULL);
  viewer.instance = ls_single_instance_new (name, LS_SINGLE_INSTANCE_PROTOCOL_LS);
  if (!ls_single_instance_register (viewer.instance, NULL, &error))
    {
      g_printerr ("ls-viewer: %s\n", error->message);
      return 1;
    }
  if (!ls_single_instance_is_primary (viewer.instance))
    {
      status = forward (viewer.instance, argv);
      g_object_unref (viewer.instance);
      return status;
    }

  viewer.app = gtk_application_new (APP_ID, G_APPLICATION_NON_UNIQUE |
                                            G_APPLICATION_HANDLES_COMMAND_LINE);
  g_signal_connect (viewer.app, "command-line", G_CALLBACK (on_command_line), &viewer);
  g_signal_connect (viewer.app, "shutdown", G_CALLBACK (on_shutdown), &viewer);
  g_signal_connect (viewer.instance, "message-received", G_CALLBACK (on_message_received), &viewer);
  g_unix_signal_add (SIGTERM, on_quit_signal, viewer.app);
  g_unix_signal_add (SIGINT, on_quit_signal, viewer.app);
  say ("primary on %s", name);

  status = g_application_run (G_APPLICATION (viewer.app), argc, argv);

  g_clear_object (&viewer.loading);
  g_object_unref (viewer.instance);
  g_object_unref (viewer.app);
  return status;
}
