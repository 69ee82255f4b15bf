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

#include <sched.h>

typedef struct {
  uv_mutex_t lock;
  uv_cond_t turn;
  /* Number of the next commit whose replies may go (under the lock), and of the next one
     submitted (the loop thread's alone). */
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

/*
 * Scheduling. The event loop wakes a thread-pool thread for every commit; a woken thread of
 * the normal policy may take the loop's CPU at once (wakeup preemption), and on a busy machine
 * the loop then waits: measured, the call that queues a commit took 80-95 us median and over
 * 1 ms at p99 of the loop's time. So the thread leaves each commit as SCHED_BATCH (same CPU
 * share, but a woken SCHED_BATCH thread waits for the scheduler instead of preempting), and
 * turns back to the normal policy while it works, so that the disk's completion wakes it
 * promptly to send the replies (all SCHED_BATCH: p99 alike, median latency 30 % higher).
 * Best effort: where the kernel refuses, the thread keeps its policy.
 */
static void set_policy(int policy) {
  struct sched_param none = {0};
  (void)sched_setscheduler(0, policy, &none);
}

static void commit_work(uv_work_t *req) {
  commit_t *c = (commit_t *)req->data;
  set_policy(SCHED_OTHER);
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
  set_policy(SCHED_BATCH);
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

/* Per reply in commitWrite's meta array: offset and length in `replies`, port, and the index
   of its socket in `sockets` and of its address in `addresses`. */
#define REPLY_WORDS 5
/*
 * commitWrite(sequencer, fd, data, position, sockets[], addresses[], replies, meta, count,
 * callback(errno)): writes `data` at `position`, then sends the `count` replies laid out in
 * the `replies` buffer as `meta` (a Uint32Array, REPLY_WORDS per reply) says. Everything is
 * copied; the arguments may be reused at once. A reply whose socket has been closed is
 * skipped (its listener is gone); a reply with no such socket, or an address that is not
 * of its socket's family, fails the commit with EINVAL, unwritten. Throws only when the
 * arguments have the wrong types (nothing is queued then).
 */
static napi_value js_commit_write(napi_env env, napi_callback_info info) {
  size_t argc = 10;
  napi_value argv[10];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  sequencer_t *q = NULL;
  int32_t fd = -1;
  int64_t position = 0;
  void *data = NULL, *reply_bytes = NULL, *meta_data = NULL;
  size_t length = 0, reply_length = 0, meta_length = 0;
  uint32_t count = 0, nsockets = 0, naddresses = 0;
  napi_typedarray_type meta_type;
  napi_valuetype callback_type;
  CHECK(napi_get_value_external(env, argv[0], (void **)&q));
  CHECK(napi_get_value_int32(env, argv[1], &fd));
  CHECK(napi_get_buffer_info(env, argv[2], &data, &length));
  CHECK(napi_get_value_int64(env, argv[3], &position));
  CHECK(napi_get_array_length(env, argv[4], &nsockets));
  CHECK(napi_get_array_length(env, argv[5], &naddresses));
  CHECK(napi_get_buffer_info(env, argv[6], &reply_bytes, &reply_length));
  CHECK(napi_get_typedarray_info(env, argv[7], &meta_type, &meta_length, &meta_data, NULL, NULL));
  CHECK(napi_get_value_uint32(env, argv[8], &count));
  CHECK(napi_typeof(env, argv[9], &callback_type));
  if (callback_type != napi_function || meta_type != napi_uint32_array || meta_length < (size_t)count * REPLY_WORDS) {
    napi_throw_type_error(env, "EINVAL", "commitWrite: bad arguments");
    return NULL;
  }
  const uint32_t *meta = (const uint32_t *)meta_data;

  /* Each distinct socket and address is looked up once. */
  sock_t **socks = calloc(nsockets ? nsockets : 1, sizeof(sock_t *));
  struct sockaddr_storage *addrs = calloc(naddresses ? naddresses : 1, sizeof(struct sockaddr_storage));
  socklen_t *addr_lengths = calloc(naddresses ? naddresses : 1, sizeof(socklen_t));
  commit_t *c = calloc(1, sizeof(commit_t));
  if (c) {
    c->data = malloc(length ? length : 1);
    c->reply = calloc(count ? count : 1, sizeof(reply_t));
    c->reply_data = malloc(reply_length ? reply_length : 1);
  }
  if (!socks || !addrs || !addr_lengths || !c || !c->data || !c->reply || !c->reply_data) {
    free(socks);
    free(addrs);
    free(addr_lengths);
    if (c) free_commit(c);
    napi_throw_error(env, "ENOMEM", "out of memory");
    return NULL;
  }
  memcpy(c->data, data, length);
  memcpy(c->reply_data, reply_bytes, reply_length);
  for (uint32_t i = 0; i < nsockets; i++) {
    napi_value v;
    socks[i] = napi_get_element(env, argv[4], i, &v) == napi_ok ? get_sock(env, v) : NULL;
  }
  for (uint32_t i = 0; i < naddresses; i++) {
    napi_value v;
    char text[INET6_ADDRSTRLEN + 1];
    size_t n = 0;
    addr_lengths[i] = 0;
    if (napi_get_element(env, argv[5], i, &v) != napi_ok || napi_get_value_string_latin1(env, v, text, sizeof(text), &n) != napi_ok) continue;
    /* The port is set per reply. */
    if (to_sockaddr(strchr(text, ':') ? AF_INET6 : AF_INET, text, 0, &addrs[i], &addr_lengths[i]) != 0) addr_lengths[i] = 0;
  }
  int kept = 0;
  for (uint32_t i = 0; i < count; i++) {
    const uint32_t *m = meta + (size_t)i * REPLY_WORDS;
    uint32_t offset = m[0], n = m[1], port = m[2], sock_index = m[3], address_index = m[4];
    sock_t *sock = sock_index < nsockets ? socks[sock_index] : NULL;
    int bad = !sock || address_index >= naddresses || addr_lengths[address_index] == 0 || port > 65535 || n > MAX_DATAGRAM ||
              (size_t)offset + n > reply_length || addrs[address_index].ss_family != (sa_family_t)sock->family;
    if (bad) {
      /* Failed in order, like a write error: the commits behind it send nothing either. */
      c->error = EINVAL;
      kept = 0;
      break;
    }
    if (sock->closed) continue;
    reply_t *r = &c->reply[kept++];
    r->sock = sock;
    r->addr = addrs[address_index];
    r->addr_len = addr_lengths[address_index];
    if (sock->family == AF_INET)
      ((struct sockaddr_in *)&r->addr)->sin_port = htons((uint16_t)port);
    else
      ((struct sockaddr_in6 *)&r->addr)->sin6_port = htons((uint16_t)port);
    r->offset = offset;
    r->length = n;
  }
  free(socks);
  free(addrs);
  free(addr_lengths);
  c->replies = kept;
  c->env = env;
  c->fd = fd;
  c->position = position;
  c->length = length;
  c->seq = q;
  if (napi_create_reference(env, argv[9], 1, &c->callback) != napi_ok) {
    free_commit(c);
    napi_throw_error(env, NULL, "commitWrite: cannot keep the callback");
    return NULL;
  }
  uv_loop_t *loop = NULL;
  napi_get_uv_event_loop(env, &loop);
  c->req.data = c;
  /* Only this thread numbers commits: no lock (a worker may hold it while it sends). */
  c->number = q->submitted++;
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
