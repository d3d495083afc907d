#include <git2.h>
/* Not part of git2.h: the object database's backend struct (its `write`
 * slot is switched per batch) and the in-memory backend batches write to. */
#include <git2/sys/odb_backend.h>
#include <git2/sys/mempack.h>
/* The merge-driver interface: coffer registers its driver in-process. */
#include <git2/sys/merge.h>
/* zlib's types (z_stream) for GitStore's pack writer, which loads zlib with
 * dlopen like libgit2 (a libgit2 dependency, so nothing new is mapped). */
#include <zlib.h>
