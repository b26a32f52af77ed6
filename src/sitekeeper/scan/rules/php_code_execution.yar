/*
 * sitekeeper's own rules: PHP that runs code it decodes or receives.
 * Every rule carries `severity` (critical, high, medium, low) and a one-line
 * `description` for the technician; tests/scan/ holds a matching sample and a
 * benign file for each, and checks that no rule fires on a clean WordPress.
 */

rule php_eval_decoded_input
{
    meta:
        severity = "critical"
        description = "eval()/assert() runs code decoded from an encoded string (base64, gzip, rot13, hex): a backdoor loader"
    strings:
        $call = /\b(eval|assert)\s*\(\s*(@\s*)?(base64_decode|gzinflate|gzuncompress|gzdecode|str_rot13|strrev|hex2bin|convert_uudecode|rawurldecode|urldecode)\s*\(/ nocase
    condition:
        $call
}

rule php_eval_request_input
{
    meta:
        severity = "critical"
        description = "eval()/assert() runs code taken from the request (GET, POST, cookie, header, body): a web shell"
    strings:
        $request = /\b(eval|assert)\s*\(\s*(@\s*)?((stripslashes|trim|base64_decode|urldecode|rawurldecode|html_entity_decode|str_rot13)\s*\(\s*)?\$_(GET|POST|REQUEST|COOKIE|SERVER|FILES)\b/ nocase
        $body = /\b(eval|assert)\s*\(\s*(@\s*)?file_get_contents\s*\(\s*["']php:\/\/input["']/ nocase
    condition:
        any of them
}

rule php_request_to_shell
{
    meta:
        severity = "critical"
        description = "Request input passed straight to a shell command (system, exec, passthru, shell_exec, popen, proc_open): a web shell"
    strings:
        // not ->exec( (a database handle) nor curl_exec( ('_' is a word character)
        $call = /(^|[^\w>$:])(system|exec|passthru|shell_exec|popen|proc_open|pcntl_exec)\s*\(\s*(@\s*)?((stripslashes|trim|base64_decode|urldecode|rawurldecode|escapeshellcmd)\s*\(\s*)?\$_(GET|POST|REQUEST|COOKIE|SERVER)\b/ nocase
        // the backtick operator, as code (assigned, echoed, returned), not a doc comment's `$_POST[...]`
        $backticks = /(=|\becho|\bprint|\breturn)\s*`\s*\$_(GET|POST|REQUEST|COOKIE)\s*\[[^\]`\n]{1,64}\]\s*`/ nocase
    condition:
        any of them
}

rule php_request_as_function
{
    meta:
        severity = "critical"
        description = "Request input called as a function ($_GET['f'](...), call_user_func($_POST[...])): lets a visitor run any PHP function"
    strings:
        $direct = /\$_(GET|POST|REQUEST|COOKIE|SERVER)\s*\[[^\]\n]{1,64}\]\s*\(/ nocase
        $callback = /\b(call_user_func(_array)?|array_map|register_shutdown_function|register_tick_function|forward_static_call(_array)?)\s*\(\s*(@\s*)?\$_(GET|POST|REQUEST|COOKIE|SERVER)\b/ nocase
    condition:
        any of them
}

rule php_remote_include
{
    meta:
        severity = "high"
        description = "include/require of a file named by the request or of a remote URL: runs code the attacker chooses"
    strings:
        $request = /\b(include|require)(_once)?\s*\(?\s*(@\s*)?\$_(GET|POST|REQUEST|COOKIE)\b/ nocase
        $url = /\b(include|require)(_once)?\s*\(?\s*["'](https?|ftp|php|data):\/\// nocase
    condition:
        any of them
}

rule php_preg_replace_eval
{
    meta:
        severity = "high"
        description = "preg_replace() with the /e modifier evaluates its replacement as PHP (removed in PHP 7): a hidden eval"
    strings:
        $e = /\bpreg_replace\s*\(\s*["'][\/#~@!|%+][^"'\n]{1,300}[\/#~@!|%+][imsxuADSUXJ]{0,10}e[imsxuADSUXJ]{0,10}["']\s*,/
    condition:
        $e
}

rule php_create_function
{
    meta:
        severity = "medium"
        description = "create_function() builds code from a string (removed in PHP 8): old plugins used it, droppers still do"
    strings:
        $call = /\bcreate_function\s*\(/ nocase
    condition:
        $call
}

rule php_create_function_payload
{
    meta:
        severity = "critical"
        description = "create_function() given decoded or request input as its body: a backdoor"
    strings:
        $payload = /\bcreate_function\s*\(\s*["'][^"'\n]{0,60}["']\s*,\s*(@\s*)?((base64_decode|gzinflate|gzuncompress|gzdecode|str_rot13|strrev|hex2bin)\s*\(|\$_(GET|POST|REQUEST|COOKIE|SERVER)\b)/ nocase
    condition:
        $payload
}
