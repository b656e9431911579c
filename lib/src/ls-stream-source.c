/* ls-stream-source.c: the pollable sources of the socket's streams
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "ls-stream-source-private.h"

/* The socket already watches its descriptor and reads into its buffer, so
 * a stream is readable or writable when the socket's state says so, not
 * when the descriptor is. A source therefore polls nothing: it sleeps
 * (ready time -1) until the socket's events wake it (ready time 0), and
 * costs nothing per main loop iteration while it waits. Like GIO's fd
 * sources it is level-triggered: after a dispatch that keeps it, it fires
 * again while its stream can still go on. */
typedef struct
{
  GSource              source;
  GObject             *stream;
  LsStreamSourceReady  ready;
  GSList             **sources;
} LsStreamSource;

static gboolean
stream_source_dispatch (GSource     *source,
                        GSourceFunc  callback,
                        gpointer     user_data)
{
  LsStreamSource *self = (LsStreamSource *) source;
  GPollableSourceFunc func = (GPollableSourceFunc) (void (*) (void)) callback;
  gboolean keep;

  g_source_set_ready_time (source, -1);
  if (func == NULL)
    return G_SOURCE_CONTINUE;
  keep = func (self->stream, user_data);
  if (keep && !g_source_is_destroyed (source) && self->ready (self->stream))
    g_source_set_ready_time (source, 0);
  return keep;
}

static void
stream_source_finalize (GSource *source)
{
  LsStreamSource *self = (LsStreamSource *) source;

  if (self->sources != NULL)
    *self->sources = g_slist_remove (*self->sources, self);
  g_object_unref (self->stream);
}

/* For g_source_set_closure () (language bindings): the closure gets the
 * stream and returns whether to keep the source. */
static gboolean
stream_source_closure_callback (GObject  *stream,
                                gpointer  data)
{
  GValue param = G_VALUE_INIT;
  GValue result = G_VALUE_INIT;
  gboolean keep;

  g_value_init (&result, G_TYPE_BOOLEAN);
  g_value_init (&param, G_TYPE_OBJECT);
  g_value_set_object (&param, stream);
  g_closure_invoke (data, &result, 1, &param, NULL);
  keep = g_value_get_boolean (&result);
  g_value_unset (&param);
  g_value_unset (&result);
  return keep;
}

static GSourceFuncs stream_source_funcs = {
  .dispatch = stream_source_dispatch,
  .finalize = stream_source_finalize,
  .closure_callback = (GSourceFunc) (void (*) (void)) stream_source_closure_callback,
};

GSource *
ls_stream_source_new (gpointer              stream,
                      LsStreamSourceReady   ready,
                      GSList              **sources,
                      GCancellable         *cancellable,
                      const char           *name)
{
  GSource *source = g_source_new (&stream_source_funcs, sizeof (LsStreamSource));
  LsStreamSource *self = (LsStreamSource *) source;

  g_source_set_static_name (source, name);
  self->stream = g_object_ref (stream);
  self->ready = ready;
  self->sources = sources;
  if (sources != NULL)
    *sources = g_slist_prepend (*sources, self);
  if (cancellable != NULL)
    {
      GSource *cancel_source = g_cancellable_source_new (cancellable);

      /* Its dispatch is ours: the callback then sees the cancellation. */
      g_source_set_dummy_callback (cancel_source);
      g_source_add_child_source (source, cancel_source);
      g_source_unref (cancel_source);
    }
  if (ready (stream))
    g_source_set_ready_time (source, 0);
  return source;
}

void
ls_stream_sources_wake (GSList *sources)
{
  for (GSList *l = sources; l != NULL; l = l->next)
    {
      LsStreamSource *self = l->data;

      if (self->ready (self->stream))
        g_source_set_ready_time (&self->source, 0);
    }
}
