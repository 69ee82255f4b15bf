/*
 * Durable commit, then reply (Linux): a thread-pool thread writes a batch of accounting
 * spool records with pwrite(2) on a segment opened O_DSYNC and, once every earlier commit
 * is durable too, sends the batch's Accounting-Responses itself with sendmmsg(2).
 *
 * Why: RFC 2866 §2 lets the NAS have its answer only once the record is stored. Answered
 * from JavaScript, every answer also waited for the event loop to notice the write's end,
 * and a loop busy with other requests or a garbage collection added that wait to the
 * acknowledgement; from the thread that did the write, it leaves at once.
 *
 * Order: commits are numbered by a sequencer as JavaScript submits them. A commit's replies
 * leave only after the replies of every earlier commit left, and not at all once an earlier
 * commit's write failed (its records are cut off the file with everything after it; the
 * spool in JavaScript refuses them, and the NAS retransmits). The failure holds until the
 * spool calls commitResume, which it does once it has cut the failed commits off and every
 * commit it refused has ended. A thread waits for the earlier commits: libuv takes work in
 * submission order, so those are already running, and none waits for a later one.
 *
 * JavaScript side: src/transport/durable-commit.ts.
 */
#include "udp_batch.h"

#include <pthread.h>

typedef struct {
  uv_mutex_t lock;
  uv_cond_t turn;
  /* Number of the next commit whose replies may go, and of the next one submitted. */
  uint64_t next;
  uint64_t submitted;
  /* A commit failed; no commit sends anything until commitResume. */
  int failed;
  /* Commits in flight hold the sequencer (and JavaScript's handle keeps one more). */
  int refs;
} sequencer_t;

typedef struct {
  sock_t *sock;
  struct sockaddr_storage addr;
  socklen_t addr_len;
  uint32_t offset;
  uint32_t length;
} reply_t;

typedef struct {
  uv_work_t req;
  napi_env env;
  napi_ref callback;
  sequencer_t *seq;
  uint64_t number;
  int fd;
  int64_t position;
  size_t length;
  unsigned char *data;
  int replies;
  reply_t *reply;
  unsigned char *reply_data;
  /* errno of the failed write, or 0. */
  int error;
} commit_t;

#define CHECK(call)                                   \
  do {                                                \
    if ((call) != napi_ok) {                          \
      napi_throw_error(env, NULL, #call " failed");   \
      return NULL;                                    \
    }                                                 \
  } while (0)

static void sequencer_unref(sequencer_t *q) {
  if (--q->refs > 0) return;
  uv_mutex_destroy(&q->lock);
  uv_cond_destroy(&q->turn);
  free(q);
}

static void sequencer_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  sequencer_unref((sequencer_t *)data);
}

/* commitOpen() -> sequencer: one per spool. */
static napi_value js_commit_open(napi_env env, napi_callback_info info) {
  (void)info;
  sequencer_t *q = calloc(1, sizeof(sequencer_t));
  if (!q || uv_mutex_init(&q->lock) != 0 || uv_cond_init(&q->turn) != 0) {
    free(q);
    napi_throw_error(env, "ENOMEM", "cannot create a commit sequencer");
    return NULL;
  }
  q->refs = 1;
  napi_value handle;
  CHECK(napi_create_external(env, q, sequencer_finalize, NULL, &handle));
  return handle;
}

static void send_replies(commit_t *c) {
  struct mmsghdr msgs[BATCH];
  struct iovec iov[BATCH];
  int i = 0;
  while (i < c->replies) {
    /* One sendmmsg per run of replies on the same socket, at most BATCH at a time. */
    sock_t *s = c->reply[i].sock;
    int n = 0;
    while (i + n < c->replies && n < BATCH && c->reply[i + n].sock == s) {
      reply_t *r = &c->reply[i + n];
      iov[n].iov_base = c->reply_data + r->offset;
      iov[n].iov_len = r->length;
      memset(&msgs[n], 0, sizeof(msgs[n]));
      msgs[n].msg_hdr.msg_iov = &iov[n];
      msgs[n].msg_hdr.msg_iovlen = 1;
      msgs[n].msg_hdr.msg_name = &r->addr;
      msgs[n].msg_hdr.msg_namelen = r->addr_len;
      n++;
    }
    int done = 0;
    while (done < n) {
      int k = sendmmsg(s->fd, msgs + done, (unsigned)(n - done), MSG_DONTWAIT);
      if (k < 0) {
        if (errno == EINTR) continue;
        /* Refused (buffer full): lost as on the wire; the NAS retransmits and gets the
           reply from the duplicate cache. */
        done++;
        continue;
      }
      done += k;
    }
    i += n;
  }
}

static void commit_work(uv_work_t *req) {
  commit_t *c = (commit_t *)req->data;
  size_t off = 0;
  while (!c->error && off < c->length) {
    ssize_t n = pwrite(c->fd, c->data + off, c->length - off, (off_t)(c->position + (int64_t)off));
    if (n < 0) {
      if (errno == EINTR) continue;
      c->error = errno;
      break;
    }
    off += (size_t)n;
  }
  sequencer_t *q = c->seq;
  uv_mutex_lock(&q->lock);
  while (q->next != c->number) uv_cond_wait(&q->turn, &q->lock);
  if (c->error) q->failed = 1;
  if (!q->failed) send_replies(c);
  q->next++;
  uv_cond_broadcast(&q->turn);
  uv_mutex_unlock(&q->lock);
}

static void free_commit(commit_t *c) {
  free(c->data);
  free(c->reply);
  free(c->reply_data);
  free(c);
}

static void commit_done(uv_work_t *req, int status) {
  commit_t *c = (commit_t *)req->data;
  napi_env env = c->env;
  napi_handle_scope scope;
  napi_open_handle_scope(env, &scope);
  napi_value cb, global, argv[1];
  napi_get_reference_value(env, c->callback, &cb);
  napi_get_global(env, &global);
  napi_create_int32(env, status == UV_ECANCELED ? ECANCELED : c->error, &argv[0]);
  for (int i = 0; i < c->replies; i++) sock_unuse(c->reply[i].sock);
  napi_delete_reference(env, c->callback);
  sequencer_unref(c->seq);
  free_commit(c);
  napi_value ignored;
  if (napi_make_callback(env, NULL, global, cb, 1, argv, &ignored) == napi_pending_exception) {
    napi_value err;
    napi_get_and_clear_last_exception(env, &err);
    napi_fatal_exception(env, err);
  }
  napi_close_handle_scope(env, scope);
}

/*
 * commitWrite(sequencer, fd, data, position, sockets[], replies[], addresses[], ports[],
 * callback(errno)): writes `data` at `position`, then sends replies[i] from sockets[i]
 * to addresses[i]:ports[i]. Everything is copied; the arguments may be reused at once. A
 * reply whose socket has been closed is skipped (its listener is gone); a reply that is not
 * a socket, an address of its family and a port fails the commit with EINVAL, unwritten.
 * Throws only when the other arguments have the wrong type (nothing is queued then).
 */
static napi_value js_commit_write(napi_env env, napi_callback_info info) {
  size_t argc = 9;
  napi_value argv[9];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  sequencer_t *q = NULL;
  int32_t fd = -1;
  int64_t position = 0;
  void *data = NULL;
  size_t length = 0;
  uint32_t replies = 0;
  napi_valuetype callback_type;
  CHECK(napi_get_value_external(env, argv[0], (void **)&q));
  CHECK(napi_get_value_int32(env, argv[1], &fd));
  CHECK(napi_get_buffer_info(env, argv[2], &data, &length));
  CHECK(napi_get_value_int64(env, argv[3], &position));
  CHECK(napi_get_array_length(env, argv[5], &replies));
  CHECK(napi_typeof(env, argv[8], &callback_type));
  if (callback_type != napi_function) {
    napi_throw_type_error(env, "EINVAL", "commitWrite: the last argument must be a function");
    return NULL;
  }
  /* Check every reply before allocating anything. */
  size_t reply_bytes = 0;
  for (uint32_t i = 0; i < replies; i++) {
    napi_value b;
    void *p = NULL;
    size_t n = 0;
    CHECK(napi_get_element(env, argv[5], i, &b));
    if (napi_get_buffer_info(env, b, &p, &n) != napi_ok || n > MAX_DATAGRAM) {
      napi_throw_type_error(env, "EINVAL", "commitWrite: a reply must be a Buffer of at most 4096 octets");
      return NULL;
    }
    reply_bytes += n;
  }

  commit_t *c = calloc(1, sizeof(commit_t));
  if (c) {
    c->data = malloc(length ? length : 1);
    c->reply = calloc(replies ? replies : 1, sizeof(reply_t));
    c->reply_data = malloc(reply_bytes ? reply_bytes : 1);
  }
  if (!c || !c->data || !c->reply || !c->reply_data) {
    if (c) free_commit(c);
    napi_throw_error(env, "ENOMEM", "out of memory");
    return NULL;
  }
  memcpy(c->data, data, length);
  uint32_t offset = 0;
  int kept = 0;
  for (uint32_t i = 0; i < replies; i++) {
    napi_value sock_value, buf_value, address_value, port_value;
    napi_get_element(env, argv[4], i, &sock_value);
    napi_get_element(env, argv[5], i, &buf_value);
    napi_get_element(env, argv[6], i, &address_value);
    napi_get_element(env, argv[7], i, &port_value);
    reply_t *r = &c->reply[kept];
    r->sock = get_sock(env, sock_value);
    void *p = NULL;
    size_t n = 0;
    char address[INET6_ADDRSTRLEN + 1];
    size_t address_length = 0;
    int32_t port = 0;
    napi_get_buffer_info(env, buf_value, &p, &n);
    if (!r->sock || napi_get_value_string_latin1(env, address_value, address, sizeof(address), &address_length) != napi_ok ||
        napi_get_value_int32(env, port_value, &port) != napi_ok || to_sockaddr(r->sock->family, address, port, &r->addr, &r->addr_len) != 0) {
      /* Failed in order, like a write error: the commits behind it send nothing either. */
      c->error = EINVAL;
      kept = 0;
      break;
    }
    if (r->sock->closed) continue;
    memcpy(c->reply_data + offset, p, n);
    r->offset = offset;
    r->length = (uint32_t)n;
    offset += (uint32_t)n;
    kept++;
  }
  c->replies = kept;
  c->env = env;
  c->fd = fd;
  c->position = position;
  c->length = length;
  c->seq = q;
  if (napi_create_reference(env, argv[8], 1, &c->callback) != napi_ok) {
    free_commit(c);
    napi_throw_error(env, NULL, "commitWrite: cannot keep the callback");
    return NULL;
  }
  uv_loop_t *loop = NULL;
  napi_get_uv_event_loop(env, &loop);
  c->req.data = c;
  uv_mutex_lock(&q->lock);
  c->number = q->submitted++;
  uv_mutex_unlock(&q->lock);
  q->refs++;
  for (int i = 0; i < c->replies; i++) c->reply[i].sock->users++;
  int r = uv_queue_work(loop, &c->req, commit_work, commit_done);
  if (r != 0) {
    /* Cannot happen with a live loop and both callbacks; the number is taken, so the sequencer would wait forever. */
    napi_fatal_error("commitWrite", NAPI_AUTO_LENGTH, uv_strerror(r), NAPI_AUTO_LENGTH);
  }
  return NULL;
}

/* commitResume(sequencer): the spool has dealt with a failed commit; later commits send again. */
static napi_value js_commit_resume(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  sequencer_t *q = NULL;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  CHECK(napi_get_value_external(env, argv[0], (void **)&q));
  uv_mutex_lock(&q->lock);
  q->failed = 0;
  uv_mutex_unlock(&q->lock);
  return NULL;
}

void register_durable_commit(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"commitOpen", NULL, js_commit_open, NULL, NULL, NULL, napi_default, NULL},
      {"commitResume", NULL, js_commit_resume, NULL, NULL, NULL, napi_default, NULL},
      {"commitWrite", NULL, js_commit_write, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
}
