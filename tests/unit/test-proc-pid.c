/* SPDX-License-Identifier: MIT */
/* Parsers of per-process files: smaps, smaps_rollup, status. Expected values
 * come from a second, sscanf-based reading of the same fixture
 * (mv-test-fixture.c) or are stated from the fixture text in comments. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "mv-test-fixture.h"
#include "proc/mv-proc.h"

#define KB(n) ((guint64)(n) * 1024)
#define HAS(v, field) MV_FIELD_PRESENT((v).present, MV_SMAPS_FIELD_##field)

typedef struct {
  guint n;
  guint64 rss, pss, size, anonymous, swap, lazyfree, private_clean, private_dirty;
  guint n_stop; /* stop after this many mappings (0: never) */
  /* the path of each mapping, NUL-terminated copies */
  GPtrArray *paths;
  GPtrArray *perms;
} Collect;

static gboolean
collect(const MvSmapsEntry *e, gpointer user_data)
{
  Collect *c = user_data;

  c->n++;
  c->rss += e->v.rss;
  c->pss += e->v.pss;
  c->size += e->v.size;
  c->anonymous += e->v.anonymous;
  c->swap += e->v.swap;
  c->lazyfree += e->v.lazyfree;
  c->private_clean += e->v.private_clean;
  c->private_dirty += e->v.private_dirty;
  /* Size is the VMA's extent: end - start, always printed */
  assert_true(HAS(e->v, size));
  assert_int_equal(e->v.size, e->end - e->start);
  if (c->paths != NULL) {
    g_ptr_array_add(c->paths, g_strndup(e->path, e->path_len));
    g_ptr_array_add(c->perms, g_strdup(e->perms));
  }
  return c->n_stop == 0 || c->n < c->n_stop;
}

static void
collect_init(Collect *c)
{
  memset(c, 0, sizeof *c);
  c->paths = g_ptr_array_new_with_free_func(g_free);
  c->perms = g_ptr_array_new_with_free_func(g_free);
}

static void
collect_clear(Collect *c)
{
  g_ptr_array_unref(c->paths);
  g_ptr_array_unref(c->perms);
}

static int
find_path(const Collect *c, const char *path)
{
  for (guint i = 0; i < c->paths->len; i++)
    if (strcmp(c->paths->pdata[i], path) == 0)
      return (int)i;
  return -1;
}

static void
test_smaps_captured(void **state)
{
  MvFixture f = mv_fixture_load("smaps_probe.txt");
  g_autofree char *ref = mv_fixture_cstr("smaps_probe.txt");
  g_autoptr(GError) error = NULL;
  Collect c;

  collect_init(&c);
  assert_true(mv_smaps_parse(f.data, f.len, collect, &c, &error));
  assert_null(error);
  assert_int_equal(c.n, mv_ref_count_headers(ref));
  assert_int_equal(c.rss, KB(mv_ref_sum_kb(ref, "Rss")));
  assert_int_equal(c.pss, KB(mv_ref_sum_kb(ref, "Pss")));
  assert_int_equal(c.size, KB(mv_ref_sum_kb(ref, "Size")));
  assert_int_equal(c.anonymous, KB(mv_ref_sum_kb(ref, "Anonymous")));
  assert_int_equal(c.lazyfree, KB(mv_ref_sum_kb(ref, "LazyFree")));
  assert_int_equal(c.private_dirty, KB(mv_ref_sum_kb(ref, "Private_Dirty")));
  /* the probe MADV_FREE'd 64 touched pages: 256 kB LazyFree */
  assert_int_equal(c.lazyfree, KB(256));

  /* paths as the kernel printed them, padding stripped */
  assert_true(find_path(&c, "/tmp/probe/a path with spaces") >= 0);
  assert_true(find_path(&c, "/tmp/probe/new\\012line") >= 0);
  assert_true(find_path(&c, "/tmp/probe/deleted_file (deleted)") >= 0);
  assert_true(find_path(&c, "/SYSV1234abcd (deleted)") >= 0);
  assert_true(find_path(&c, "/memfd:probe memfd (deleted)") >= 0);
  assert_true(find_path(&c, "/dev/shm/probe_posix") >= 0);
  assert_true(find_path(&c, "/dev/zero (deleted)") >= 0);
  assert_true(find_path(&c, "[heap]") >= 0);
  assert_true(find_path(&c, "[vsyscall]") >= 0);
  /* an unnamed anonymous mapping: header ends "0 " -> empty path */
  assert_true(find_path(&c, "") >= 0);
  int i = find_path(&c, "/SYSV1234abcd (deleted)");
  assert_string_equal(c.perms->pdata[i], "rw-s");
  collect_clear(&c);
  mv_fixture_free(&f);
}

static gboolean
find_first(const MvSmapsEntry *e, gpointer user_data)
{
  *(MvSmapsEntry *)user_data = *e;
  return FALSE;
}

static void
test_smaps_header_fields(void **state)
{
  /* first line of the fixture:
   * 5646a5224000-5646a5225000 r--p 00000000 fe:00 10953005    /tmp/probe/probe */
  MvFixture f = mv_fixture_load("smaps_probe.txt");
  MvSmapsEntry e;

  memset(&e, 0, sizeof e);
  assert_true(mv_smaps_parse(f.data, f.len, find_first, &e, NULL));
  assert_int_equal(e.start, 0x5646a5224000ULL);
  assert_int_equal(e.end, 0x5646a5225000ULL);
  assert_string_equal(e.perms, "r--p");
  assert_int_equal(e.offset, 0);
  assert_int_equal(e.dev_major, 0xfe);
  assert_int_equal(e.dev_minor, 0);
  assert_int_equal(e.inode, 10953005);
  assert_int_equal(e.path_len, strlen("/tmp/probe/probe"));
  assert_memory_equal(e.path, "/tmp/probe/probe", e.path_len);
  assert_int_equal(e.v.rss, KB(4));
  mv_fixture_free(&f);
}

static void
test_smaps_stop_early(void **state)
{
  MvFixture f = mv_fixture_load("smaps_probe.txt");
  Collect c;

  collect_init(&c);
  c.n_stop = 3;
  assert_true(mv_smaps_parse(f.data, f.len, collect, &c, NULL));
  assert_int_equal(c.n, 3);
  collect_clear(&c);
  mv_fixture_free(&f);
}

static void
expect_smaps_eio(const char *name)
{
  MvFixture f = mv_fixture_load(name);
  g_autoptr(GError) error = NULL;
  Collect c;

  collect_init(&c);
  assert_false(mv_smaps_parse(f.data, f.len, collect, &c, &error));
  assert_non_null(error);
  assert_true(g_error_matches(error, MV_ERRNO, EIO));
  collect_clear(&c);
  mv_fixture_free(&f);
}

static void
test_smaps_malformed(void **state)
{
  expect_smaps_eio("smaps_bad_number.txt");
  expect_smaps_eio("smaps_overflow.txt");
  expect_smaps_eio("smaps_overflow_bytes.txt");
  expect_smaps_eio("smaps_no_unit.txt");
  expect_smaps_eio("smaps_field_first.txt");
  expect_smaps_eio("smaps_cut_midheader.txt");
}

static void
test_smaps_cut_midline(void **state)
{
  /* cut inside "Rss:                8192 kB" of the 8 MiB block: every block
   * before it is whole, the cut block is still reported (its header is whole)
   * without an Rss value. */
  MvFixture f = mv_fixture_load("smaps_cut_midline.txt");
  g_autofree char *ref = mv_fixture_cstr("smaps_cut_midline.txt");
  Collect c;

  collect_init(&c);
  assert_true(mv_smaps_parse(f.data, f.len, collect, &c, NULL));
  assert_int_equal(c.n, mv_ref_count_headers(ref));
  /* the sscanf reading sees "Rss:                81" without kB: no match */
  assert_int_equal(c.rss, KB(mv_ref_sum_kb(ref, "Rss")));
  collect_clear(&c);
  mv_fixture_free(&f);
}

static gboolean
keep_last(const MvSmapsEntry *e, gpointer user_data)
{
  *(MvSmapsEntry *)user_data = *e;
  return TRUE;
}

static void
test_smaps_cut_last_block(void **state)
{
  MvFixture f = mv_fixture_load("smaps_cut_midline.txt");
  MvSmapsEntry last;

  assert_true(mv_smaps_parse(f.data, f.len, keep_last, &last, NULL));
  assert_int_equal(last.v.size, KB(8192));
  assert_true(HAS(last.v, size));
  assert_true(HAS(last.v, mmu_page_size));
  assert_false(HAS(last.v, rss));
  assert_int_equal(last.v.rss, 0);
  mv_fixture_free(&f);
}

static void
test_smaps_empty(void **state)
{
  /* a kernel thread's smaps is empty: no mapping, not an error */
  Collect c;
  collect_init(&c);
  assert_true(mv_smaps_parse("", 0, collect, &c, NULL));
  assert_true(mv_smaps_parse(NULL, 0, collect, &c, NULL));
  assert_int_equal(c.n, 0);
  collect_clear(&c);
}

static void
test_smaps_not_nul_terminated(void **state)
{
  /* the text stops at len even when the next byte would continue a line */
  const char text[] = "7f0000000000-7f0000001000 rw-p 00000000 00:00 0 \nSize:  4 kB\nRss:   4 kB\nPss:   4 kB\n"
                      "XXXX";
  Collect c;
  collect_init(&c);
  assert_true(mv_smaps_parse(text, strlen(text) - 4 - 12, collect, &c, NULL));
  /* "Pss:   4 kB\n" (12 bytes) excluded */
  assert_int_equal(c.n, 1);
  assert_int_equal(c.rss, KB(4));
  assert_int_equal(c.pss, 0);
  collect_clear(&c);
}

static void
test_rollup_captured(void **state)
{
  MvFixture f = mv_fixture_load("smaps_rollup_probe.txt");
  g_autofree char *ref = mv_fixture_cstr("smaps_rollup_probe.txt");
  g_autofree char *smaps = mv_fixture_cstr("smaps_probe.txt");
  MvSmapsValues v;
  g_autoptr(GError) error = NULL;

  assert_true(mv_smaps_rollup_parse(f.data, f.len, &v, &error));
#define CHECK(member, key)                                   \
  if (mv_ref_first_kb(ref, key) >= 0) {                      \
    assert_true(HAS(v, member));                    \
    assert_int_equal(v.member, KB(mv_ref_first_kb(ref, key))); \
  } else {                                                   \
    assert_false(HAS(v, member));                   \
  }
  MV_SMAPS_FIELDS(CHECK)
#undef CHECK
  /* captured from a stopped process right after its smaps: the rollup's Rss
   * is the sum of the per-mapping Rss */
  assert_int_equal(v.rss, KB(mv_ref_sum_kb(smaps, "Rss")));
  /* the rollup has no Size line */
  assert_false(HAS(v, size));
  mv_fixture_free(&f);
}

static void
test_rollup_errors(void **state)
{
  MvSmapsValues v;
  g_autoptr(GError) error = NULL;

  assert_false(mv_smaps_rollup_parse("", 0, &v, &error));
  assert_true(g_error_matches(error, MV_ERRNO, ESRCH));
  g_clear_error(&error);

  MvFixture f = mv_fixture_load("smaps_rollup_no_rss.txt");
  assert_false(mv_smaps_rollup_parse(f.data, f.len, &v, &error));
  assert_true(g_error_matches(error, MV_ERRNO, EIO));
  g_clear_error(&error);
  mv_fixture_free(&f);

  /* cut inside the Pss line: Rss kept, Pss not trusted */
  f = mv_fixture_load("smaps_rollup_cut.txt");
  assert_true(mv_smaps_rollup_parse(f.data, f.len, &v, &error));
  assert_int_equal(v.rss, KB(13544));
  assert_false(HAS(v, pss));
  mv_fixture_free(&f);

  const char junk[] = "Rss: 4 kB\n";
  assert_false(mv_smaps_rollup_parse(junk, sizeof junk - 1, &v, &error));
  assert_true(g_error_matches(error, MV_ERRNO, EIO));
}

static void
test_status_probe(void **state)
{
  MvFixture f = mv_fixture_load("status_probe.txt");
  g_autofree char *ref = mv_fixture_cstr("status_probe.txt");
  MvStatus s;
  g_autoptr(GError) error = NULL;

  assert_true(mv_status_parse(f.data, f.len, &s, &error));
  assert_string_equal(s.name, "probe");
  assert_int_equal(s.state, 'S');
  assert_int_equal(s.tgid, 5343);
  assert_int_equal(s.pid, 5343);
  assert_int_equal(s.ppid, 1);
  for (int i = 0; i < 4; i++) {
    assert_int_equal(s.uid[i], 0);
    assert_int_equal(s.gid[i], 0);
  }
  assert_int_equal(s.cap_prm, 0x000001fffeffffffULL);
  assert_int_equal(s.cap_eff, 0x000001fffeffffffULL);
  assert_true(s.has_mm);
#define CHECK(member, key) assert_int_equal(s.member, KB(mv_ref_first_kb(ref, key)));
  MV_STATUS_KB_FIELDS(CHECK)
#undef CHECK
  /* VmRSS = RssAnon + RssFile + RssShmem (the kernel sums the three) */
  assert_int_equal(s.vm_rss, s.rss_anon + s.rss_file + s.rss_shmem);
  mv_fixture_free(&f);
}

static void
test_status_kthread_zombie(void **state)
{
  MvStatus s;
  MvFixture f = mv_fixture_load("status_kthread.txt");

  assert_true(mv_status_parse(f.data, f.len, &s, NULL));
  assert_string_equal(s.name, "kthreadd");
  assert_int_equal(s.pid, 2);
  assert_int_equal(s.ppid, 0);
  assert_false(s.has_mm);
  assert_int_equal(s.vm_rss, 0);
  mv_fixture_free(&f);

  f = mv_fixture_load("status_zombie.txt");
  assert_true(mv_status_parse(f.data, f.len, &s, NULL));
  assert_string_equal(s.name, "sleep");
  assert_int_equal(s.state, 'Z');
  assert_false(s.has_mm);
  mv_fixture_free(&f);
}

static void
test_status_escaped_name(void **state)
{
  const char text[] = "Name:\ta\\nb\\\\c\nUid:\t1\t2\t3\t4\nGid:\t5\t6\t7\t8\n";
  MvStatus s;

  assert_true(mv_status_parse(text, sizeof text - 1, &s, NULL));
  assert_string_equal(s.name, "a\nb\\c");
  assert_int_equal(s.uid[0], 1);
  assert_int_equal(s.uid[3], 4);
  assert_int_equal(s.gid[1], 6);
  assert_false(s.has_mm);
}

static void
expect_status_eio(const char *name)
{
  MvFixture f = mv_fixture_load(name);
  MvStatus s;
  g_autoptr(GError) error = NULL;

  assert_false(mv_status_parse(f.data, f.len, &s, &error));
  assert_true(g_error_matches(error, MV_ERRNO, EIO));
  mv_fixture_free(&f);
}

static void
test_status_malformed(void **state)
{
  expect_status_eio("status_no_gid.txt");
  expect_status_eio("status_bad_uid.txt");
  expect_status_eio("status_overflow.txt");
  expect_status_eio("status_cut.txt"); /* cut inside "Gid:": Gid missing */
  MvStatus s;
  g_autoptr(GError) error = NULL;
  assert_false(mv_status_parse("", 0, &s, &error));
  assert_true(g_error_matches(error, MV_ERRNO, EIO));
}

static void
test_read_file(void **state)
{
  g_autoptr(GString) out = g_string_new("stale");
  g_autoptr(GError) error = NULL;
  g_autofree char *path = g_build_filename(MV_FIXTURE_DIR, "smaps_probe.txt", NULL);
  g_autofree char *expected = NULL;
  gsize expected_len;

  assert_true(g_file_get_contents(path, &expected, &expected_len, NULL));
  assert_true(mv_read_file(path, out, &error));
  assert_int_equal(out->len, expected_len);
  assert_memory_equal(out->str, expected, expected_len);

  assert_false(mv_read_file("/nonexistent/memviewfs", out, &error));
  assert_true(g_error_matches(error, MV_ERRNO, ENOENT));
  g_clear_error(&error);

  /* a live /proc file read through the same path: our own status */
  assert_true(mv_proc_read(getpid(), "status", out, &error));
  MvStatus s;
  assert_true(mv_status_parse(out->str, out->len, &s, &error));
  assert_int_equal(s.pid, getpid());
  assert_true(s.has_mm);

  /* a pid that cannot exist (above pid_max's hard limit 2^22) */
  assert_false(mv_proc_read(4194305 + 7, "status", out, &error));
  assert_true(g_error_matches(error, MV_ERRNO, ENOENT));
}

/* The streamed parse (64 KiB reads, cut before the last header) against the
 * whole-text parse of the same text: the probe fixture repeated until the
 * text spans several reads, so blocks, lines and headers straddle read
 * boundaries at every kind of place. */
static void
test_smaps_stream_equals_whole(void **state)
{
  MvFixture f = mv_fixture_load("smaps_probe.txt");
  g_autoptr(GString) text = g_string_new(NULL);
  g_autofree char *path = NULL;
  g_autoptr(GError) error = NULL;
  Collect whole, streamed, stopped;
  gsize bytes_read = 0;
  int fd = g_file_open_tmp("mv-smaps-XXXXXX", &path, NULL);

  assert_true(fd >= 0);
  while (text->len < 5 * 65536 + 123)
    g_string_append_len(text, f.data, (gssize) f.len);
  assert_true(write(fd, text->str, text->len) == (ssize_t) text->len);
  close(fd);

  collect_init(&whole);
  collect_init(&streamed);
  assert_true(mv_smaps_parse(text->str, text->len, collect, &whole, NULL));
  assert_true(mv_smaps_parse_file(path, collect, &streamed, &bytes_read, &error));
  assert_null(error);
  assert_int_equal(bytes_read, text->len);
  assert_int_equal(streamed.n, whole.n);
  assert_int_equal(streamed.rss, whole.rss);
  assert_int_equal(streamed.pss, whole.pss);
  assert_int_equal(streamed.size, whole.size);
  assert_int_equal(streamed.private_dirty, whole.private_dirty);
  assert_int_equal(streamed.lazyfree, whole.lazyfree);
  for (guint i = 0; i < whole.paths->len; i++)
    assert_string_equal(streamed.paths->pdata[i], whole.paths->pdata[i]);

  /* stopping early stops the reading too */
  memset(&stopped, 0, sizeof stopped);
  stopped.n_stop = whole.n - 3;
  assert_true(mv_smaps_parse_file(path, collect, &stopped, &bytes_read, NULL));
  assert_int_equal(stopped.n, whole.n - 3);

  /* a file that is not there: its errno */
  assert_false(mv_smaps_parse_file("/nonexistent/smaps", collect, &stopped, &bytes_read, &error));
  assert_true(g_error_matches(error, MV_ERRNO, ENOENT));
  unlink(path);
  collect_clear(&whole);
  collect_clear(&streamed);
  mv_fixture_free(&f);
}

/* A file read ahead on a second thread comes out whole and in order, and
 * stopping early (the thread blocked on a full queue) neither hangs nor
 * leaks (the sanitizer build checks the second). */
static void
test_read_ahead_whole_file(void **state)
{
  g_autoptr(GByteArray) data = g_byte_array_new();
  g_autoptr(GByteArray) back = g_byte_array_new();
  g_autofree char *path = NULL;
  g_autofree char *buf = g_malloc(4096);
  MvReadAhead *ra;
  gssize n;
  int fd = g_file_open_tmp("mv-readahead-XXXXXX", &path, NULL);

  assert_true(fd >= 0);
  for (guint i = 0; i < 256 * 4096 + 17; i++) {
    guint8 byte = (guint8) (i * 7 + i / 4096);
    g_byte_array_append(data, &byte, 1);
  }
  assert_true(write(fd, data->data, data->len) == (ssize_t) data->len);
  assert_true(lseek(fd, 0, SEEK_SET) == 0);

  ra = mv_read_ahead_start(fd, 4096);
  assert_non_null(ra);
  while ((n = mv_read_ahead_next(ra, buf, 4096)) > 0)
    g_byte_array_append(back, (guint8 *) buf, (guint) n);
  assert_int_equal(n, 0);
  assert_int_equal(mv_read_ahead_next(ra, buf, 4096), 0); /* and stays at the end */
  mv_read_ahead_stop(ra);
  assert_int_equal(back->len, data->len);
  assert_memory_equal(back->data, data->data, data->len);

  assert_true(lseek(fd, 0, SEEK_SET) == 0);
  ra = mv_read_ahead_start(fd, 4096);
  assert_non_null(ra);
  assert_int_equal(mv_read_ahead_next(ra, buf, 4096), 4096);
  assert_memory_equal(buf, data->data, 4096);
  g_usleep(20000); /* let the thread fill its queue and wait */
  mv_read_ahead_stop(ra);

  /* a read that fails: its errno (a directory gives EISDIR) */
  close(fd);
  unlink(path);
  fd = open(g_get_tmp_dir(), O_RDONLY | O_DIRECTORY);
  assert_true(fd >= 0);
  ra = mv_read_ahead_start(fd, 4096);
  assert_non_null(ra);
  assert_int_equal(mv_read_ahead_next(ra, buf, 4096), -1);
  assert_int_equal(errno, EISDIR);
  mv_read_ahead_stop(ra);
  close(fd);
}

typedef struct {
  int fd;
  const guint8 *data;
  gsize len;
} PipeWriter;

static gpointer
write_in_pieces(gpointer user_data)
{
  PipeWriter *w = user_data;

  for (gsize off = 0; off < w->len; off += 1000)
    assert_true(write(w->fd, w->data + off, MIN(1000, w->len - off)) > 0);
  close(w->fd);
  return NULL;
}

/* A source that hands out a little per read(2), as /proc's seq files do
 * (about a page): each chunk is still filled to its size before it is handed
 * over, and nothing is lost or reordered. */
static void
test_read_ahead_fills_chunks(void **state)
{
  g_autoptr(GByteArray) data = g_byte_array_new();
  g_autoptr(GByteArray) back = g_byte_array_new();
  g_autofree char *buf = g_malloc(16384);
  PipeWriter writer;
  GThread *thread;
  MvReadAhead *ra;
  guint n_short = 0;
  gssize n;
  int fds[2];

  for (guint i = 0; i < 300000; i++) {
    guint8 byte = (guint8) (i * 13 + i / 1000);
    g_byte_array_append(data, &byte, 1);
  }
  assert_int_equal(pipe(fds), 0);
  writer = (PipeWriter) { fds[1], data->data, data->len };
  thread = g_thread_new("writer", write_in_pieces, &writer);
  ra = mv_read_ahead_start(fds[0], 16384);
  assert_non_null(ra);
  while ((n = mv_read_ahead_next(ra, buf, 16384)) > 0) {
    if (n != 16384)
      n_short++;
    g_byte_array_append(back, (guint8 *) buf, (guint) n);
  }
  assert_int_equal(n, 0);
  mv_read_ahead_stop(ra);
  g_thread_join(thread);
  close(fds[0]);
  assert_int_equal(back->len, data->len);
  assert_memory_equal(back->data, data->data, data->len);
  assert_int_equal(n_short, 1); /* the last: 300000 = 18 x 16384 + 5088 */
}

int
main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_smaps_captured),
    cmocka_unit_test(test_smaps_header_fields),
    cmocka_unit_test(test_smaps_stop_early),
    cmocka_unit_test(test_smaps_malformed),
    cmocka_unit_test(test_smaps_cut_midline),
    cmocka_unit_test(test_smaps_cut_last_block),
    cmocka_unit_test(test_smaps_empty),
    cmocka_unit_test(test_smaps_not_nul_terminated),
    cmocka_unit_test(test_smaps_stream_equals_whole),
    cmocka_unit_test(test_read_ahead_whole_file),
    cmocka_unit_test(test_read_ahead_fills_chunks),
    cmocka_unit_test(test_rollup_captured),
    cmocka_unit_test(test_rollup_errors),
    cmocka_unit_test(test_status_probe),
    cmocka_unit_test(test_status_kthread_zombie),
    cmocka_unit_test(test_status_escaped_name),
    cmocka_unit_test(test_status_malformed),
    cmocka_unit_test(test_read_file),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
