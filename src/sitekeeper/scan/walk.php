<?php
/*
 * sitekeeper's integrity walk: one pass over a docroot on the site's own server, run as
 * the file owner with `php -n -r PROGRAM -- ...` (no php.ini: a site's auto_prepend_file
 * never runs), so hashing costs no round trip per file.
 *
 *   walk  DOCROOT MARKER MAX_FILES MAX_HASH_BYTES SECONDS WITH_MD5   (stdin: the previous
 *         manifest, "hexpath size mtime ctime" per line: a file whose three still match
 *         is reported as unchanged and not read again)
 *   fetch DOCROOT MARKER MAX_FILE_BYTES MAX_TOTAL_BYTES               (stdin: hex paths)
 *
 * Names are hostile (newlines, invalid UTF-8, "../"): every path goes out hex-encoded.
 * Symbolic links are listed, never followed. Output, after the line "MARKER":
 *   T now                                             (walk: the server's clock, first)
 *   F|L|O hexpath size mtime ctime mode sha256 md5   ("=": unchanged, "-": not hashed)
 *   X hexpath reason                                  (not readable: the walk is partial)
 *   E files hashed bytes_hashed stopped               ("-" or why it stopped early)
 *   C hexpath length\n<length bytes>\n                (fetch: a file's first bytes)
 */

function sk_out($line)
{
    fwrite(STDOUT, $line . "\n");
}

function sk_previous()
{
    $known = array();
    while (($line = fgets(STDIN, 20000)) !== false) {
        $parts = explode(' ', rtrim($line, "\n"));
        if (count($parts) === 4) {
            $known[$parts[0]] = $parts[1] . ' ' . $parts[2] . ' ' . $parts[3];
        }
    }
    return $known;
}

function sk_walk($root, $max_files, $max_hash, $seconds, $with_md5)
{
    $known = sk_previous();
    sk_out('T ' . time());
    $deadline = microtime(true) + $seconds;
    $files = 0;
    $hashed = 0;
    $bytes = 0;
    $stopped = '-';
    $stack = array('');
    while ($stack) {
        $rel = array_pop($stack);
        $dir = $rel === '' ? $root : $root . '/' . $rel;
        $handle = @opendir($dir);
        if ($handle === false) {
            sk_out('X ' . bin2hex($rel) . ' unreadable-dir');
            continue;
        }
        $names = array();
        while (($name = readdir($handle)) !== false) {
            if ($name !== '.' && $name !== '..') {
                $names[] = $name;
            }
        }
        closedir($handle);
        sort($names, SORT_STRING);
        $subdirs = array();
        foreach ($names as $name) {
            $path = $rel === '' ? $name : $rel . '/' . $name;
            $st = @lstat($root . '/' . $path);
            if ($st === false) {
                sk_out('X ' . bin2hex($path) . ' unreadable');
                continue;
            }
            $type = $st['mode'] & 0170000;
            if ($type === 0040000) {
                $subdirs[] = $path;
                continue;
            }
            if ($files >= $max_files) {
                $stopped = 'max-files';
                break 2;
            }
            if (microtime(true) > $deadline) {
                $stopped = 'time';
                break 2;
            }
            $files++;
            $hex = bin2hex($path);
            $kind = $type === 0100000 ? 'F' : ($type === 0120000 ? 'L' : 'O');
            $stamp = $st['size'] . ' ' . $st['mtime'] . ' ' . $st['ctime'];
            $sha = '-';
            $md5 = '-';
            if ($kind === 'F') {
                if (isset($known[$hex]) && $known[$hex] === $stamp) {
                    $sha = '=';
                    $md5 = '=';
                } elseif ($st['size'] <= $max_hash) {
                    $data = @file_get_contents($root . '/' . $path, false, null, 0, $max_hash + 1);
                    if ($data === false) {
                        sk_out('X ' . $hex . ' unreadable');
                    } else {
                        $sha = hash('sha256', $data);
                        $md5 = $with_md5 ? md5($data) : '-';
                        $hashed++;
                        $bytes += strlen($data);
                    }
                }
            }
            sk_out($kind . ' ' . $hex . ' ' . $stamp . ' ' . decoct($st['mode'] & 07777) . ' ' . $sha . ' ' . $md5);
        }
        for ($i = count($subdirs) - 1; $i >= 0; $i--) {
            $stack[] = $subdirs[$i];
        }
    }
    sk_out('E ' . $files . ' ' . $hashed . ' ' . $bytes . ' ' . $stopped);
}

function sk_inside($root, $rel)
{
    if ($rel === '' || $rel[0] === '/' || strpos($rel, "\0") !== false) {
        return false;
    }
    foreach (explode('/', $rel) as $part) {
        if ($part === '' || $part === '.' || $part === '..') {
            return false;
        }
    }
    $parent = dirname($rel);
    $real = realpath($root . '/' . ($parent === '.' ? '' : $parent));
    $want = $parent === '.' ? $root : $root . '/' . $parent;
    return $real !== false && $real === $want;
}

function sk_fetch($root, $max_file, $max_total)
{
    $total = 0;
    while (($line = fgets(STDIN, 20000)) !== false) {
        $hex = rtrim($line, "\n");
        $rel = @hex2bin($hex);
        if ($rel === false || !sk_inside($root, $rel)) {
            sk_out('X ' . $hex . ' refused');
            continue;
        }
        $st = @lstat($root . '/' . $rel);
        if ($st === false || ($st['mode'] & 0170000) !== 0100000) {
            sk_out('X ' . $hex . ' not-a-file');
            continue;
        }
        $want = min($st['size'], $max_file, max(0, $max_total - $total));
        if ($want < $st['size'] && $total >= $max_total) {
            sk_out('X ' . $hex . ' budget');
            continue;
        }
        $data = @file_get_contents($root . '/' . $rel, false, null, 0, $want);
        if ($data === false) {
            sk_out('X ' . $hex . ' unreadable');
            continue;
        }
        $total += strlen($data);
        sk_out('C ' . $hex . ' ' . strlen($data));
        fwrite(STDOUT, $data);
        fwrite(STDOUT, "\n");
    }
    sk_out('E 0 0 ' . $total . ' -');
}

if (PHP_SAPI !== 'cli' || $argc < 4) {
    fwrite(STDERR, "usage: php -n -r PROGRAM -- walk|fetch DOCROOT MARKER ...\n");
    exit(2);
}
$sk_root = realpath($argv[2]);
if ($sk_root === false || !is_dir($sk_root)) {
    fwrite(STDERR, "no such docroot\n");
    exit(3);
}
@set_time_limit(0);
@ini_set('memory_limit', '512M');
sk_out($argv[3]);
if ($argv[1] === 'walk' && $argc === 8) {
    sk_walk($sk_root, (int) $argv[4], (int) $argv[5], (float) $argv[6], $argv[7] === '1');
} elseif ($argv[1] === 'fetch' && $argc === 6) {
    sk_fetch($sk_root, (int) $argv[4], (int) $argv[5]);
} else {
    fwrite(STDERR, "bad arguments\n");
    exit(2);
}
