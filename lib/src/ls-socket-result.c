/* ls-socket-result.c: the GAsyncResult of LsLocalSocket's asynchronous
 * calls, recycled through a pool of the thread
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "ls-socket-result-private.h"

/* GTask made and finalized two GObjects per round trip of an echo (about
 * 6,000 instructions, more than the whole round trip of the signals).
 * A result nobody holds after its callback is kept here for the next call
 * of any socket of the thread instead: an echo allocates nothing, and
 * neither does a new connection once the pool holds some. The pool is the
 * thread's (results are recycled where their callbacks ran), and bounded:
 * a burst of completions keeps at most this many. */
#define RESULT_POOL_MAX 64

typedef struct
{
  LsSocketResult *head;   /* linked through pool_next */
  guint           len;
} ResultPool;

static void result_pool_free (gpointer data);

/* The __thread pointer is what calls read (initial-exec, as the block
 * cache's: no __tls_get_addr call); the GPrivate only frees the pool when
 * the thread exits. */
static __thread ResultPool *result_pool_tls __attribute__ ((tls_model ("initial-exec")));
static GPrivate result_pool_key = G_PRIVATE_INIT (result_pool_free);

static void ls_socket_result_async_result_iface_init (GAsyncResultIface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (LsSocketResult, ls_socket_result, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (G_TYPE_ASYNC_RESULT,
                                                      ls_socket_result_async_result_iface_init))

static void
ls_socket_result_finalize (GObject *object)
{
  LsSocketResult *self = LS_SOCKET_RESULT (object);

  g_clear_error (&self->error);
  g_clear_pointer (&self->bytes, g_bytes_unref);
  g_clear_pointer (&self->context, g_main_context_unref);
  g_clear_object (&self->source_object);
  G_OBJECT_CLASS (ls_socket_result_parent_class)->finalize (object);
}

static void
ls_socket_result_class_init (LsSocketResultClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = ls_socket_result_finalize;
}

static void
ls_socket_result_init (LsSocketResult *self)
{
}

static GObject *
ls_socket_result_get_source_object (GAsyncResult *result)
{
  LsSocketResult *self = LS_SOCKET_RESULT (result);

  return self->source_object != NULL ? g_object_ref (self->source_object) : NULL;
}

static gpointer
ls_socket_result_get_user_data (GAsyncResult *result)
{
  return LS_SOCKET_RESULT (result)->user_data;
}

static gboolean
ls_socket_result_is_tagged (GAsyncResult *result,
                            gpointer      source_tag)
{
  return LS_SOCKET_RESULT (result)->source_tag == source_tag;
}

static void
ls_socket_result_async_result_iface_init (GAsyncResultIface *iface)
{
  iface->get_source_object = ls_socket_result_get_source_object;
  iface->get_user_data = ls_socket_result_get_user_data;
  iface->is_tagged = ls_socket_result_is_tagged;
}

/* The pool ------------------------------------------------------------- */

static void
result_pool_free (gpointer data)
{
  ResultPool *pool = data;

  result_pool_tls = NULL;
  while (pool->head != NULL)
    {
      LsSocketResult *self = pool->head;

      pool->head = self->pool_next;
      g_object_unref (self);
    }
  g_free (pool);
}

static ResultPool *
result_pool_get (void)
{
  ResultPool *pool = result_pool_tls;

  if (G_UNLIKELY (pool == NULL))
    {
      pool = result_pool_tls = g_new0 (ResultPool, 1);
      g_private_set (&result_pool_key, pool);
    }
  return pool;
}

LsSocketResult *
ls_socket_result_new (gpointer             source_object,
                      GAsyncReadyCallback  callback,
                      gpointer             user_data,
                      gpointer             source_tag)
{
  ResultPool *pool = result_pool_get ();
  LsSocketResult *self = pool->head;

  if (G_LIKELY (self != NULL))
    {
      pool->head = self->pool_next;
      pool->len--;
      self->pool_next = NULL;
    }
  else
    self = g_object_new (LS_TYPE_SOCKET_RESULT, NULL);
  self->link.data = self;
  self->source_object = g_object_ref (source_object);
  self->callback = callback;
  self->user_data = user_data;
  self->source_tag = source_tag;
  return self;
}

/* After the callback: our reference goes. When it is the only one (the
 * callback kept none, nor did a binding's wrapper), the result is cleared
 * and pooled; it lets its source object go first, which may finalize it. */
static void
ls_socket_result_recycle (LsSocketResult *self)
{
  ResultPool *pool;
  GObject *source_object;

  if (g_atomic_int_get ((gint *) &G_OBJECT (self)->ref_count) != 1 ||
      (pool = result_pool_get ())->len >= RESULT_POOL_MAX)
    {
      g_object_unref (self);
      return;
    }

  source_object = g_steal_pointer (&self->source_object);
  g_clear_error (&self->error);
  g_clear_pointer (&self->bytes, g_bytes_unref);
  g_clear_pointer (&self->context, g_main_context_unref);
  /* Everything after parent_instance back to zero, as g_object_new () made it. */
  memset ((guint8 *) self + sizeof (GObject), 0, sizeof *self - sizeof (GObject));
  self->pool_next = pool->head;
  pool->head = self;
  pool->len++;
  g_object_unref (source_object);
}

/* Outcomes ---------------------------------------------------------------- */

void
ls_socket_result_return_error (LsSocketResult *self,
                               GError         *error)
{
  self->error = error;
  self->returned = TRUE;
}

void
ls_socket_result_return_bytes (LsSocketResult *self,
                               GBytes         *bytes)
{
  self->bytes = bytes;
  self->returned = TRUE;
}

void
ls_socket_result_return_boolean (LsSocketResult *self,
                                 gboolean        value)
{
  self->boolean = value;
  self->returned = TRUE;
}

void
ls_socket_result_invoke (LsSocketResult *self)
{
  if (self->callback != NULL)
    self->callback (self->source_object, G_ASYNC_RESULT (self), self->user_data);
  ls_socket_result_recycle (self);
}

static gboolean
invoke_from_idle (gpointer data)
{
  LsSocketResult *self = data;

  if (self->callback != NULL)
    self->callback (self->source_object, G_ASYNC_RESULT (self), self->user_data);
  return G_SOURCE_REMOVE;
}

/* The source's destroy notify: also when its context goes away without
 * ever running it, the result (and its source object) is let go. */
static void
recycle_from_idle (gpointer data)
{
  ls_socket_result_recycle (data);
}

void
ls_socket_result_invoke_in_idle (LsSocketResult *self,
                                 GMainContext   *context)
{
  GSource *source = g_idle_source_new ();

  g_source_set_priority (source, G_PRIORITY_DEFAULT);
  g_source_set_callback (source, invoke_from_idle, self, recycle_from_idle);
  g_source_set_static_name (source, "[ls] asynchronous call");
  g_source_attach (source, context);
  g_source_unref (source);
}

/* _finish --------------------------------------------------------------- */

gboolean
ls_socket_result_is_valid (GAsyncResult *result,
                           gpointer      source_object,
                           gpointer      source_tag)
{
  LsSocketResult *self;

  if (!LS_IS_SOCKET_RESULT (result))
    return FALSE;
  self = LS_SOCKET_RESULT (result);
  return self->source_object == source_object && self->source_tag == source_tag &&
         self->returned;
}

static gboolean
propagate_error (LsSocketResult  *self,
                 GError         **error)
{
  self->propagated = TRUE;
  if (self->error == NULL)
    return FALSE;
  g_propagate_error (error, g_steal_pointer (&self->error));
  return TRUE;
}

GBytes *
ls_socket_result_propagate_bytes (GAsyncResult  *result,
                                  GError       **error)
{
  LsSocketResult *self = LS_SOCKET_RESULT (result);

  /* As GTask: a result is finished once. */
  g_return_val_if_fail (!self->propagated, NULL);
  if (propagate_error (self, error))
    return NULL;
  return g_steal_pointer (&self->bytes);
}

gboolean
ls_socket_result_propagate_boolean (GAsyncResult  *result,
                                    GError       **error)
{
  LsSocketResult *self = LS_SOCKET_RESULT (result);

  g_return_val_if_fail (!self->propagated, FALSE);
  if (propagate_error (self, error))
    return FALSE;
  return self->boolean;
}
