"""test_scripting.py: Lua scripting (EVAL, EVALSHA, SCRIPT, FUNCTION, FCALL) against
redis-server: every conversion between Redis replies and Lua values (RESP2 and RESP3),
error texts and their "script: ..., on @user_script:N." decoration, the sandbox, shebang
flags, cjson and bit; redis-py's Lock, register_script, eval/evalsha/script_load and
function_load/fcall, sync and asyncio; busy scripts (BUSY, SCRIPT KILL, FUNCTION KILL,
UNKILLABLE, SHUTDOWN NOSAVE) on both servers; memory and stats."""

import asyncio
import os
import random
import sys
import threading
import time

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Conn, diff_case, diff_random, eq, wait_until  # noqa: E402

SETUP = ("FLUSHALL", "SCRIPT FLUSH", "FUNCTION FLUSH")


def ev(script, *args):
    """An EVAL step; args are keys count then keys and args."""
    return ("EVAL", script) + tuple(str(a) for a in (args or (0,)))


CASES = [
    ("conversions", [
        ev("return 1"), ev("return 3.99"), ev("return -3.99"), ev("return -0.5"), ev("return 1e20"),
        ev("return -1e20"), ev("return 0/0"), ev("return 9007199254740993"), ev("return 'str'"),
        ev("return ''"), ev("return true"), ev("return false"), ev("return nil"), ev("return {}"),
        ev("return {1,2,3,'a',nil,5}"), ev("return {1,2,false,4}"), ev("return {1,2,true,4}"),
        ev("return {[1]='a',x='b'}"), ev("return {1,{2,{3,{err='x'}}}}"), ev("return {1,{2,{3,{ok='y'}}}}"),
        ev("return {err='boom'}"), ev("return {ok='fine'}"), ev("return {ok={}}"), ev("return {err=1}"),
        ev("return {err='a\\r\\nb'}"), ev("return {ok='a\\r\\nb'}"), ev("return {err=''}"),
        ev("return {double=3.5}"), ev("return {big_number='123'}"), ev("return {map={a=1}}"),
        ev("return {set={a=true}}"), ev("local t = {} ; t[1]=1; t[3]=3; return t"),
        ev("return {1.5, 2.7, -2.7}"), ev("return {'a', {'b', {'c', {}}}}"),
        ev("return redis.status_reply('PONG')"), ev("return redis.error_reply('x')"),
        ev("return redis.error_reply('-MY x')"), ev("return redis.error_reply('My err')"),
        ev("return redis.error_reply('a\\r\\nb')"), ev("return redis.status_reply(1)"),
        ev("return redis.error_reply(1)"), ev("return redis"), ev("return string.rep('x', 3)"),
        ev("return tostring(1e15)"), ev("return tostring(0.1)"),
    ]),
    ("keys_argv", [
        ev("return KEYS[1] .. ARGV[1]", 1, "k", "a"), ev("return #KEYS + #ARGV", 2, "k", "j", "a"),
        ev("return {KEYS, ARGV}", 1, "k", "a", "b"), ev("return KEYS", 0), ev("return ARGV", 0, "x", "y"),
        ev("return 1", -1), ev("return 1", 2, "a"), ev("return 1", "x"), ev("return 1", "1.5", "a"),
        ("EVAL", "return 1"), ("EVALSHA", "e0e1f9fabfc9d4800c877a703b823ac0578ff8db"),
    ]),
    ("redis_call_replies", [
        ev("return redis.call('set','k','v')"), ev("return redis.call('get','k')"),
        ev("return redis.call('get','nokey')"), ev("return tostring(redis.call('get','nokey'))"),
        ev("return redis.call('ping')"), ev("return redis.call('type','k')"), ev("return redis.call('type','k').ok"),
        ev("return redis.call('incr','n')"), ev("return redis.call('incrbyfloat','f','1.5')"),
        ev("redis.call('hset','h','a','1'); return redis.call('hgetall','h')"),
        ev("return redis.call('hgetall','nokey')"), ev("return redis.call('lrange','nokey',0,-1)"),
        ev("redis.call('rpush','l','a','b','c'); return redis.call('lrange','l',0,-1)"),
        ev("return type(redis.call('lrange','l',0,-1))"), ev("return redis.call('exists','k','l','no')"),
        ev("redis.call('zadd','z','1.5','a','2','b'); return redis.call('zrange','z',0,-1,'withscores')"),
        ev("return redis.call('zscore','z','a')"), ev("return redis.call('blpop','l','0')"),
        ev("return redis.call('xread','block','0','streams','nostream','0')"),
        ev("return redis.call('set','f',1.5)"), ev("return redis.call('get','f')"),
        ev("return redis.call('set','f',12345678901234567)"), ev("return redis.call('get','f')"),
        ev("return redis.call('set','f',0.1)"), ev("return redis.call('get','f')"),
        ev("return redis.call('set','f',1e100)"), ev("return redis.call('get','f')"),
        ev("return redis.call('set','f',-0.0)"), ev("return redis.call('get','f')"),
        ev("redis.call('select','5'); redis.call('set','in5','x'); return redis.call('dbsize')"),
        ("DBSIZE",), ("SELECT", "5"), ("DBSIZE",), ("SELECT", "0"),
    ]),
    ("call_errors", [
        ev("return redis.call('nosuch')"), ev("return redis.pcall('nosuch')"),
        ev("return redis.call('incr','a','b')"), ev("return redis.call('set','a')"),
        ev("return redis.pcall('incr','a','b')"), ev("return redis.call()"), ev("return redis.pcall()"),
        ev("return redis.call(1)"), ev("return redis.call({})"), ev("return redis.call('get',{})"),
        ev("return redis.call('get',true)"), ev("return redis.call('get',1.5)"),
        ev("return redis.call('multi')"), ev("return redis.call('eval','return 1','0')"),
        ev("return redis.call('script','load','return 1')"), ev("return redis.call('function','list')"),
        ev("return redis.call('config','nosuch')"), ev("return redis.call('config')"),
        ev("redis.call('set','s','x'); return redis.call('incr','s')"),
        ev("redis.call('set','s','x'); return redis.pcall('incr','s')"),
        ev("redis.call('set','s','x'); return redis.call('lpush','s','a')"),
        ev("local ok, e = pcall(redis.call, 'lpush','s','a'); return e"),
        ev("local ok,e = pcall(redis.call,'nosuch'); return type(e)"),
        ev("local ok,e = pcall(redis.call,'nosuch'); return {tostring(ok), e}"),
        ev("local e = redis.pcall('nosuch'); return type(e)"), ev("local e = redis.pcall('nosuch'); return e.err"),
        ev("local ok,e = pcall(error,{err='x'}); return e"), ev("local ok,e = pcall(error, 'x'); return e"),
        ev("local function f() redis.call('nosuch') end\n\nf()"),
        ev("\n\nreturn redis.call('nosuch')"),
        ("INFO", "errorstats"),
    ]),
    ("lua_errors", [
        ev("error('raw')"), ev("error('ERR foo')"), ev("error('MYCODE foo')"), ev("error('-X foo')"),
        ev("error('ERR foo', 0)"), ev("error('foo', 0)"), ev("error('foo', 2)"), ev("error()"), ev("error(nil)"),
        ev("error(12)"), ev("error(true)"), ev("error({err='tab'})"), ev("error({err='ERR with code'})"),
        ev("error(redis.error_reply('boom'))"), ev("error('a\\r\\nb')"),
        ev("local function f() error('deep') end f()"), ev("local x = nil; return x.y"),
        ev("return 1 + {}"), ev("return #nil"), ev("syntax error here"), ev("return 'unfinished"),
        ev("\n\n  return )"), ev("return redis.setresp(4)"), ev("return redis.setresp()"),
        ev("return redis.sha1hex()"), ev("return redis.log()"), ev("return redis.log('x', 'y')"),
        ev("return redis.log(99, 'y')"), ev("return redis.set_repl(99)"),
    ]),
    ("sandbox", [
        ev("x=1"), ev("return x"), ev("os.exit()"), ev("return os.clock()"), ev("return loadfile"),
        ev("return type(loadstring)"), ev("return type(require)"), ev("return type(print)"),
        ev("return type(dofile)"), ev("return type(setfenv)"), ev("return type(getfenv)"),
        ev("return type(newproxy)"), ev("return type(module)"), ev("return type(debug)"),
        ev("return type(io)"), ev("return type(package)"), ev("return type(collectgarbage)"),
        ev("return type(gcinfo)"), ev("return type(coroutine)"), ev("return type(unpack)"),
        ev("return _VERSION"), ev("redis = 1"), ev("redis.call = 1"), ev("string.x = 1"),
        ev("_G.x = 1"), ev("setmetatable(_G, nil)"), ev("return _G.nosuch"), ev("return rawset(_G,'x',1)"),
        ev("return type(getmetatable(_G))"), ev("return rawget(_G, 'redis') == redis"),
        ev("return loadstring(string.dump(function() return 1 end))"),
        ev("return loadstring('return 7')()"), ev("return loadstring('y = 1')()"),
        ev("local t = {} t.x = 1 setmetatable(t, {}) return t.x"),
        ev("local t={} for k,v in pairs(redis) do t[#t+1]=k end table.sort(t) return t"),
        ev("local t={} for k,v in pairs(string) do t[#t+1]=k end table.sort(t) return t"),
        ev("local t={} for k,v in pairs(math) do t[#t+1]=k end table.sort(t) return t"),
        ev("local t={} for k,v in pairs(table) do t[#t+1]=k end table.sort(t) return t"),
        ev("local n=0 for i,v in ipairs({1,2,3}) do n = n + v end return n"),
        ev("return select('#', 1, 2, 3)"), ev("return tonumber('0x10')"),
        ev("return coroutine.wrap(function() coroutine.yield(5) end)()"),
        ev("return (string.format('%5.2f', 3.14159))"), ev("return ('abc'):upper()"),
        ev("return type(getmetatable(''))"), ev("getmetatable('').__index = nil return 1"),
        ev("getmetatable('').__index.upper = nil return 1"), ev("return ('x'):upper()"),
        ev("local g = getmetatable(_G); g.__index = {} return 1"), ev("_G = {}"), ev("cjson.encode = nil"),
        ev("bit.band = nil"), ev("return type(getmetatable(_G))"), ev("return rawequal(_G, _G)"),
        ev("return next(string) ~= nil"), ev("return type(string.upper)"),
        ev("return ('x'):rep(3)"),
        ev("table.insert(string, 1) return 1"), ev("table.insert(_G, 1) return 1"),
        ev("table.remove(string) return 1"), ev("table.sort(string) return 1"),
        ev("local t = {3,1,2} table.sort(t) table.insert(t, 4) table.insert(t, 1, 0) return {t, table.remove(t)}"),
        ev("return table.insert({})"), ev("local t = {} table.insert(t, 5, 'x') return {#t, t[5]}"),
    ]),
    ("libraries", [
        ev("return cjson.encode({1,2,{a=1}})"), ev("return cjson.encode({})"),
        ev("return cjson.decode('[1,2,3]')"), ev("return cjson.decode('{\"a\":[1,{\"b\":2}]}').a[2].b"),
        ev("return cjson.encode(cjson.decode('{\"x\":\"y\"}'))"), ev("return cjson.decode('[1,')"),
        ev("return cjson.encode(1/0)"), ev("return cjson.encode('\\n')"),
        ev("return bit.band(7,3)"), ev("return bit.bor(1,2,4)"), ev("return bit.bxor(5,3)"),
        ev("return bit.lshift(1,10)"), ev("return bit.rshift(-1,28)"), ev("return bit.tohex(255)"),
        ev("return bit.bnot(0)"), ev("return bit.arshift(-256, 4)"), ev("return bit.tobit(2^32+5)"),
        ev("return redis.sha1hex('')"), ev("return redis.sha1hex('abc')"),
        ev("return redis.sha1hex(string.rep('x', 1000))"), ev("return redis.sha1hex(12)"),
        ev("return redis.REDIS_VERSION .. ' ' .. redis.REDIS_VERSION_NUM"),
        ev("return {redis.LOG_DEBUG, redis.LOG_VERBOSE, redis.LOG_NOTICE, redis.LOG_WARNING}"),
        ev("return {redis.REPL_NONE, redis.REPL_AOF, redis.REPL_SLAVE, redis.REPL_REPLICA, redis.REPL_ALL}"),
        ev("redis.set_repl(redis.REPL_ALL); return redis.replicate_commands()"),
        ev("return redis.log(redis.LOG_WARNING, 'hello', 'from', 'a script')"),
        ev("return redis.breakpoint()"), ev("return redis.acl_check_cmd('get', 'x')"),
        ev("return redis.acl_check_cmd('nosuch')"),
    ]),
    ("time_frozen", [
        ev("redis.call('set','tk','v','px','2') for i = 1, 3000000 do end return redis.call('get','tk')"),
        ev("redis.call('set','tk','v','px','2') for i = 1, 3000000 do end return redis.call('exists','tk')"),
    ]),
    ("redis_lib_args", [
        ev("return redis.set_repl()"), ev("return redis.setresp(2.5)"), ev("return redis.set_repl(-0.5)"),
        ev("return redis.set_repl(4)"), ev("return redis.sha1hex(1,2)"), ev("return redis.log('x')"),
        ev("return redis.log(-1, 'x')"), ev("return redis.log(2.5, 'x')"), ev("return redis.setresp('3')"),
        ev("return redis.sha1hex({})"), ev("return redis.sha1hex(nil)"), ev("return redis.acl_check_cmd()"),
        ev("return redis.acl_check_cmd('nosuch')"), ev("return redis.acl_check_cmd('get')"),
        ev("return redis.acl_check_cmd({})"), ev("return redis.call('get', 'a', {})"),
        ev("return {1, 2, {3, 4, {5}}, 'x', {err='e'}, {ok='o'}, {double=1}}"),
        ev("return string.format('%s', redis.call('ping'))"), ev("return unpack({1,2,3})"),
        ev("return redis.pcall('set', 'a')"), ev("return #redis.call('keys','*')"),
        ev("return redis.call('client','list')"), ev("return redis.call('hello')"),
        ev("return redis.call('wait','0','0')"), ev("return redis.call('select','100')"),
        ev("return redis.call('shutdown')"), ev("return redis.call('info','nosuchsection')"),
        ("ACL", "SETUSER", "scriptuser", "on", "nopass", "+eval", "+get", "~*"), ("AUTH", "scriptuser", "x"),
        ev("return redis.call('set','a','b')"), ev("return redis.pcall('set','a','b')"),
        ev("return redis.acl_check_cmd('set','a','b')"), ev("return redis.acl_check_cmd('get','a')"),
        ("AUTH", "default", "x"), ("ACL", "DELUSER", "scriptuser"),
    ]),
    ("shebang", [
        ev("#!lua flags=no-writes\nreturn redis.call('set','a','1')"),
        ev("#!lua flags=no-writes\nreturn redis.call('get','a')"),
        ev("#!lua flags=bad\nreturn 1"), ev("#!lua name=x\nreturn 1"), ev("#!luax\nreturn 1"),
        ev("#!lua"), ev("#!lua flags=\nreturn 2"), ev("#!lua flags=no-writes,allow-oom\nreturn 3"),
        ev("#!lua flags=no-writes,allow-oom,allow-stale,no-cluster,allow-cross-slot-keys\nreturn 4"),
        ev("#!lua\nreturn redis.call('set','a','2')"), ev("#!lua flags=no-writes,\nreturn 1"),
        ev("#!lua  flags=no-writes \nreturn 5"),
        ("EVAL_RO", "return redis.call('set','a','1')", "0"), ("EVAL_RO", "return redis.call('get','a')", "0"),
        ("EVAL_RO", "#!lua\nreturn 1", "0"), ("EVAL_RO", "#!lua flags=no-writes\nreturn 1", "0"),
        ("SCRIPT", "LOAD", "return redis.call('set','ro','1')"),
        ("EVALSHA_RO", "5a3df6c7ee9a4ae4abc2b0bce3f6e3c8f8c19b54", "0"),
        ("EVALSHA", "5a3df6c7ee9a4ae4abc2b0bce3f6e3c8f8c19b54", "0"),
    ]),
    ("script_cmds", [
        ("SCRIPT", "LOAD", "return 'loaded'"), ("SCRIPT", "EXISTS", "a", "0b7a4ae7db15ff7ac09bb6c79e0f3b8f3cf5a640"),
        ("EVALSHA", "0b7a4ae7db15ff7ac09bb6c79e0f3b8f3cf5a640", "0"),
        ("EVALSHA", "0B7A4AE7DB15FF7AC09BB6C79E0F3B8F3CF5A640", "0"),
        ("EVALSHA", "0b7a4ae7", "0"), ("EVALSHA", "ffffffffffffffffffffffffffffffffffffffff", "0"),
        ("SCRIPT", "LOAD", "syntax error"), ("SCRIPT", "LOAD", "#!lua flags=bad\nreturn 1"),
        ("SCRIPT", "FLUSH", "bad"), ("SCRIPT", "FLUSH", "ASYNC"), ("SCRIPT", "FLUSH", "sync"),
        ("SCRIPT", "FLUSH", "sync", "async"),
        ("SCRIPT", "EXISTS", "0b7a4ae7db15ff7ac09bb6c79e0f3b8f3cf5a640"), ("SCRIPT", "KILL"),
        ("SCRIPT", "HELP"), ("SCRIPT", "NOSUCH"), ("SCRIPT",), ("SCRIPT", "EXISTS"),
        ("FUNCTION", "KILL"), ("EVAL", "return 1", "0"), ("SCRIPT", "EXISTS", "e0e1f9fabfc9d4800c877a703b823ac0578ff8db"),
        ("MULTI",), ev("return redis.call('incr','m')"), ev("return redis.call('incr','m')"), ("EXEC",),
    ]),
    ("functions", [
        ("FUNCTION", "LOAD", "return 1"), ("FUNCTION", "LOAD", "#!lua\nreturn 1"),
        ("FUNCTION", "LOAD", "#!lua name=a b=c\nreturn 1"), ("FUNCTION", "LOAD", "#!lua name=a name=b\nreturn 1"),
        ("FUNCTION", "LOAD", "#!js name=a\nreturn 1"), ("FUNCTION", "LOAD", "#!lua name=a-b\nreturn 1"),
        ("FUNCTION", "LOAD", "#!lua name=\nreturn 1"), ("FUNCTION", "LOAD", "#!lua name=a\nreturn 1"),
        ("FUNCTION", "LOAD", "#!lua name=a\nsyntax error"), ("FUNCTION", "LOAD", "#!lua name=a\nerror('x')"),
        ("FUNCTION", "LOAD", "#!lua name=a\nredis.register_function()"),
        ("FUNCTION", "LOAD", "#!lua name=a\nredis.register_function(1, 2)"),
        ("FUNCTION", "LOAD", "#!lua name=a\nredis.register_function('f', 2)"),
        ("FUNCTION", "LOAD", "#!lua name=a\nredis.register_function('f-x', function() end)"),
        ("FUNCTION", "LOAD", "#!lua name=a\nredis.register_function({})"),
        ("FUNCTION", "LOAD", "#!lua name=a\nredis.register_function('x')"),
        ("FUNCTION", "LOAD", "#!lua name=a\nredis.register_function('a','b','c')"),
        ("FUNCTION", "LOAD", "#!lua name=a\nredis.register_function{function_name='f', callback=function() end, flags={'bad'}}"),
        ("FUNCTION", "LOAD", "#!lua name=a\nredis.register_function{function_name='f', callback=function() end, x=1}"),
        ("FUNCTION", "LOAD", "#!lua name=a\nredis.register_function{function_name='f', callback=2}"),
        ("FUNCTION", "LOAD", "#!lua name=a\nredis.register_function{function_name='f'}"),
        ("FUNCTION", "LOAD", "#!lua name=a\nredis.register_function{function_name='f', callback=function() end, flags='x'}"),
        ("FUNCTION", "LOAD", "#!lua name=a\nredis.register_function('f', function() end) redis.register_function('f', function() end)"),
        ("FUNCTION", "LOAD", "#!lua name=a\nredis.call('ping')"), ("FUNCTION", "LOAD", "#!lua name=a\nlocal x = KEYS"),
        ("FUNCTION", "LOAD", "#!lua name=a\nlocal x = string.format('%d', 5)"),
        ("FUNCTION", "LOAD", "#!lua name=a\nx = 1"),
        ("FUNCTION", "LOAD", "#!lua name=a\nredis.register_function('f', function(keys, args) return {keys, args} end)"),
        ("FUNCTION", "LOAD", "#!lua name=a\nredis.register_function('f', function(keys, args) return 1 end)"),
        ("FUNCTION", "LOAD", "#!lua name=b\nredis.register_function('f', function(keys, args) return 1 end)"),
        ("FCALL", "f", "1", "k", "a"), ("FCALL", "f", "0"), ("FCALL", "nosuch", "0"), ("FCALL", "f", "-1"),
        ("FCALL", "f", "5"), ("FCALL", "f", "x"), ("FCALL_RO", "f", "0"),
        ("FUNCTION", "LOAD", "REPLACE", "#!lua name=a\nredis.register_function{function_name='f', callback=function(keys, args) return redis.call('set', keys[1], 'v') end, flags={'no-writes'}, description='desc'}"),
        ("FCALL", "f", "1", "k"), ("FCALL_RO", "f", "1", "k"), ("FUNCTION", "LIST"),
        ("FUNCTION", "LIST", "WITHCODE"), ("FUNCTION", "LIST", "libraryname", "A"),
        ("FUNCTION", "LIST", "libraryname", "z*"), ("FUNCTION", "LIST", "libraryname"),
        ("FUNCTION", "LIST", "bad"), ("FUNCTION", "LIST", "withcode", "withcode"), ("FUNCTION", "STATS"),
        ("FUNCTION", "LOAD", "BAD", "#!lua name=c\nredis.register_function('g', function() return 1 end)"),
        ("FUNCTION", "LOAD", "#!lua name=c\nredis.register_function('g', function() x = 1 end)"),
        ("FCALL", "g", "0"),
        ("FUNCTION", "LOAD", "#!lua name=d\nredis.register_function('h', function() return redis.call('nosuch') end)"),
        ("FCALL", "h", "0"),
        ("FUNCTION", "LOAD", "#!lua name=e\nredis.register_function('ee', function() return type(KEYS) end)"),
        ("FCALL", "ee", "0"),
        ("FUNCTION", "LOAD", "#!lua name=w\nredis.register_function('w', function(keys, args) return redis.call('set', keys[1], args[1]) end)"),
        ("FCALL_RO", "w", "1", "k", "x"), ("FCALL", "w", "1", "k", "x"), ("GET", "k"),
        ("FUNCTION", "LOAD", "#!lua name=v\nredis.register_function('w', function() return 1 end)"),
        ("FUNCTION", "LOAD", "#!LUA NAME=j\nredis.register_function{function_name='jj', callback=function() return 1 end, flags={'no-writes', 'allow-oom'}}"),
        ("FUNCTION", "LIST", "LIBRARYNAME", "j"), ("FCALL_RO", "jj", "0"), ("FCALL", "jj", "0", "extra"),
        ("FUNCTION", "LOAD", "#!lua name=k\nredis.register_function('kk', function() local t={} for k,v in pairs(redis) do t[#t+1]=k end table.sort(t) return t end)"),
        ("FCALL", "kk", "0"),
        ("FUNCTION", "LOAD", "#!lua name=num\nredis.register_function{function_name=12, callback=function() return 1 end, description=5}"),
        ("FUNCTION", "LIST", "LIBRARYNAME", "num"), ("FCALL", "12", "0"), ("FUNCTION", "DELETE", "num"),
        ("FUNCTION", "LOAD", "#!lua name=num2\nredis.register_function(34, function() return 2 end)"),
        ("FCALL", "34", "0"), ("FUNCTION", "DELETE", "num2"),
        ("FUNCTION", "DELETE", "zz"), ("FUNCTION", "DELETE", "j"), ("FCALL", "jj", "0"),
        ("FUNCTION", "FLUSH", "bad"), ("FUNCTION", "FLUSH", "ASYNC"), ("FUNCTION", "LIST"), ("FUNCTION", "STATS"),
        ("FUNCTION", "HELP"), ("FUNCTION",),
    ]),
]

RESP3_CASES = [
    ("resp3_from_redis", [
        ev("redis.setresp(3); return redis.call('hgetall','nokey')"),
        ev("redis.call('hset','h','a','1'); redis.setresp(3); return redis.call('hgetall','h')"),
        ev("redis.setresp(3); local r = redis.call('hgetall','h'); return r.map.a"),
        ev("redis.setresp(3); return type(redis.call('get','nokey'))"),
        ev("redis.setresp(3); return redis.call('get','nokey') == nil"),
        ev("redis.call('sadd','s','x'); redis.setresp(3); return redis.call('smembers','s')"),
        ev("redis.setresp(3); return redis.call('smembers','s').set.x"),
        ev("redis.call('zadd','z','1.5','a'); redis.setresp(3); return redis.call('zscore','z','a')"),
        ev("redis.setresp(3); return redis.call('zscore','z','a').double"),
        ev("redis.setresp(3); return redis.call('zrange','z',0,-1,'withscores')"),
        ev("redis.setresp(3); return redis.call('incrbyfloat','fl','1.25')"),
        ev("redis.setresp(3); return true"), ev("redis.setresp(3); return false"),
        ev("redis.setresp(3); return {true, false, 1}"), ev("return {true, false}"),
        ev("redis.setresp(3); return {double=1.5}"), ev("return {double=1.5}"),
        ev("return {big_number='1234567890123456789012'}"), ev("return {big_number='12\\r\\n3'}"),
        ev("return {map={a=1, b={1,2}}}"), ev("return {set={a=true}}"),
        ev("return {verbatim_string={format='txt', string='hello'}}"),
        ev("return {verbatim_string={format='markdown', string='hi'}}"),
        ev("return {verbatim_string={format='x', string='hi'}}"),
        ev("redis.setresp(3); return redis.call('info', 'keyspace')"),
        ev("redis.setresp(2); return redis.call('hgetall','h')"),
        ev("redis.setresp(3); return redis.call('exists', 'h')"),
        ev("redis.setresp(3); return redis.call('hrandfield', 'h', '-1', 'withvalues')"),
        ev("redis.setresp(3); return redis.call('config', 'get', 'maxmemory')"),
    ]),
]


@pytest.mark.parametrize("steps", [s for _, s in CASES], ids=[n for n, _ in CASES])
def test_case(server, oracle, steps):
    diff_case(server, oracle, steps, setup=SETUP)


@pytest.mark.parametrize("steps", [s for _, s in RESP3_CASES], ids=[n for n, _ in RESP3_CASES])
@pytest.mark.parametrize("resp3", [False, True], ids=["resp2", "resp3"])
def test_resp3(server, oracle, steps, resp3):
    diff_case(server, oracle, steps, setup=SETUP, resp3=resp3)


# Random scripts: values built from nested tables of the convertible kinds, returned
# directly and round-tripped through redis.call.
def _lua_value(rng, depth=0):
    k = rng.randrange(10 if depth < 3 else 6)
    if k == 0:
        return str(rng.randint(-10**6, 10**6))
    if k == 1:
        return repr(rng.choice([0.5, -2.25, 1e15, 3.0, 123456.789]))
    if k == 2:
        return "'%s'" % rng.choice(["", "a", "hello world", "x\\ny"])
    if k == 3:
        return rng.choice(["true", "false", "nil"])
    if k == 4:
        return "{err='%s'}" % rng.choice(["E1 bad", "oops"])
    if k == 5:
        return "{ok='%s'}" % rng.choice(["OK", "fine"])
    n = rng.randrange(5)
    return "{" + ", ".join(_lua_value(rng, depth + 1) for _ in range(n)) + "}"


def _gen_script(rng):
    keys = ["k%d" % rng.randrange(4) for _ in range(rng.randrange(3))]
    args = [str(rng.randrange(100)) for _ in range(rng.randrange(3))]
    body = rng.choice([
        "return %s" % _lua_value(rng),
        "redis.call('set', KEYS[1] or 'x', ARGV[1] or '1'); return redis.call('get', KEYS[1] or 'x')",
        "return redis.call('incrby', KEYS[1] or 'x', ARGV[1] or '1')",
        "return redis.pcall('lpush', KEYS[1] or 'x', %s)" % _lua_value(rng),
        "redis.call('rpush', 'list', %s) return redis.call('lrange', 'list', 0, -1)" % rng.choice(["1", "'a'", "2.5"]),
        "return {redis.call('exists', KEYS[1] or 'x'), %s}" % _lua_value(rng),
        "return redis.call('hgetall', KEYS[1] or 'h')",
        "redis.call('hset', 'h', ARGV[1] or 'f', %s) return redis.call('hgetall', 'h')" % rng.choice(["1", "'v'", "0.25"]),
    ])
    return [("EVAL", body, str(len(keys))) + tuple(keys) + tuple(args)]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_scripts(server, oracle, seed):
    diff_random(server, oracle, seed, 150, _gen_script, setup=SETUP)


# ---- propagation-independent semantics ----

def test_atomic_and_stats(server):
    c = server.conn()
    c.call("FLUSHALL")
    c.call("CONFIG", "RESETSTAT")
    c.call("CONFIG", "SET", "slowlog-log-slower-than", "0")
    c.call("SLOWLOG", "RESET")
    eq(c.call("EVAL", "redis.call('set','a','1'); redis.call('incr','a'); return redis.call('get','a')", "0"),
       b"2", "script result")
    stats = c.call("INFO", "commandstats").decode()
    assert "cmdstat_set:calls=1" in stats, stats
    assert "cmdstat_incr:calls=1" in stats, stats
    assert "cmdstat_eval:calls=1" in stats, stats
    log = c.call("SLOWLOG", "GET", "10")
    names = [e[3][0] for e in log]
    assert b"EVAL" in names or b"eval" in names, log
    assert b"set" in names and b"incr" in names, log  # as Redis, the commands it ran too
    c.call("CONFIG", "SET", "slowlog-log-slower-than", "10000")
    c.close()


def _info_field(c, section, name):
    for line in c.call("INFO", section).decode().splitlines():
        if line.startswith(name + ":"):
            return line.split(":", 1)[1]
    raise AssertionError("no %s in INFO %s" % (name, section))


def test_memory_and_cache(server):
    c = server.conn()
    c.call("SCRIPT", "FLUSH")
    eq(_info_field(c, "memory", "number_of_cached_scripts"), "0", "no scripts")
    for i in range(20):
        c.call("SCRIPT", "LOAD", "return %d" % i)
    eq(_info_field(c, "memory", "number_of_cached_scripts"), "20", "cached")
    assert int(_info_field(c, "memory", "used_memory_scripts_eval")) > 0
    # The same script run many times with fresh tables does not grow the Lua heap.
    script = "local t = {} for i = 1, 200 do t[i] = ARGV[1] .. i end return #t"
    for _ in range(300):
        c.call("EVAL", script, "0", "x")
    before = int(_info_field(c, "memory", "used_memory_lua"))
    for _ in range(1000):
        c.call("EVAL", script, "0", "x")
    after = int(_info_field(c, "memory", "used_memory_lua"))
    assert after < before * 2 + 200000, (before, after)
    c.call("SCRIPT", "FLUSH")
    eq(_info_field(c, "memory", "number_of_cached_scripts"), "0", "flushed")
    assert int(_info_field(c, "memory", "used_memory_lua")) <= after
    c.call("FUNCTION", "FLUSH")
    c.call("FUNCTION", "LOAD", "#!lua name=m\nredis.register_function('m1', function() return 1 end)")
    eq(_info_field(c, "memory", "number_of_functions"), "1", "functions")
    eq(_info_field(c, "memory", "number_of_libraries"), "1", "libraries")
    c.call("FUNCTION", "FLUSH")
    c.close()


def test_oom(server, oracle):
    """Over maxmemory: deny-oom commands refused in scripts that have not written, shebang
    scripts refused unless allow-oom, no-writes scripts run."""
    out = []
    for srv in (server, oracle):
        c = srv.conn()
        c.call("FLUSHALL")
        c.call("SET", "big", "x" * 200000)
        c.call("CONFIG", "SET", "maxmemory", "1")
        got = [c.cmd("EVAL", "return redis.call('set','a','1')", "0"),
               c.cmd("EVAL", "return redis.call('get','big') ~= false", "0"),
               c.cmd("EVAL", "redis.call('del','nokey') return redis.call('set','a','1')", "0"),
               c.cmd("EVAL", "#!lua\nreturn 1", "0"),
               c.cmd("EVAL", "#!lua flags=no-writes\nreturn 2", "0"),
               c.cmd("EVAL", "#!lua flags=allow-oom\nreturn redis.call('set','b','1')", "0")]
        c.call("CONFIG", "SET", "maxmemory", "0")
        c.call("FLUSHALL")
        c.close()
        out.append(got)
    eq(out[0], out[1], "OOM replies")


# ---- redis-py ----

def _redis_module():
    return pytest.importorskip("redis")


def test_redis_py_sync(server):
    redis = _redis_module()
    r = redis.Redis(host="127.0.0.1", port=server.port, socket_timeout=20)
    r.flushall()
    r.script_flush()
    eq(r.eval("return {KEYS[1], ARGV[1]}", 1, "k", "v"), [b"k", b"v"], "eval")
    sha = r.script_load("return redis.call('incrby', KEYS[1], ARGV[1])")
    eq(r.evalsha(sha, 1, "n", 5), 5, "evalsha")
    eq(r.script_exists(sha, "0" * 40), [True, False], "script_exists")
    inc = r.register_script("return redis.call('incrby', KEYS[1], ARGV[1])")
    eq(inc(keys=["n"], args=[2]), 7, "registered script")
    r.script_flush()
    eq(inc(keys=["n"], args=[3]), 10, "register_script reloads after NOSCRIPT")
    with pytest.raises(redis.exceptions.NoScriptError):
        r.evalsha("f" * 40, 0)
    with pytest.raises(redis.exceptions.ResponseError):
        r.eval("return redis.call('nosuch')", 0)
    eq(r.function_load("#!lua name=pylib\nredis.register_function{function_name='echo', callback=function(k, a) return a[1] end, flags={'no-writes'}}"),
       "pylib" if r.get_encoder().decode_responses else b"pylib", "function_load")
    eq(r.fcall("echo", 0, "hi"), b"hi", "fcall")
    eq(r.fcall_ro("echo", 0, "hi"), b"hi", "fcall_ro")
    lst = r.function_list()
    assert lst and lst[0][1] == b"pylib", lst
    r.function_delete("pylib")
    # Lock: acquire, contention, timeout, extend, reacquire, release.
    lock = r.lock("res", timeout=5, blocking_timeout=0.2)
    assert lock.acquire()
    other = r.lock("res", timeout=5, blocking_timeout=0.1)
    assert not other.acquire(), "lock held elsewhere"
    assert lock.extend(10)
    assert r.pttl("res") > 5000
    assert lock.reacquire()
    assert 4000 < r.pttl("res") <= 5000
    lock.release()
    assert other.acquire()
    lock.local.token = b"stale"  # a holder whose lock was taken over
    with pytest.raises(redis.exceptions.LockNotOwnedError):
        lock.release()
    lock.local.token = b"stale"
    with pytest.raises(redis.exceptions.LockNotOwnedError):
        lock.extend(5)
    other.release()
    short = r.lock("res2", timeout=0.2)
    assert short.acquire()
    wait_until(lambda: r.exists("res2") == 0, 5, "lock expiry")
    assert r.lock("res2", timeout=1, blocking=True, blocking_timeout=1).acquire()
    with r.lock("res3", timeout=2):
        assert r.exists("res3")
    assert not r.exists("res3")
    r.close()


def test_redis_py_asyncio(server):
    _redis_module()
    import redis.asyncio as aredis

    async def main():
        r = aredis.Redis(host="127.0.0.1", port=server.port, socket_timeout=20)
        await r.flushall()
        eq(await r.eval("return ARGV[1] .. KEYS[1]", 1, "k", "v"), b"vk", "async eval")
        sha = await r.script_load("return 42")
        eq(await r.evalsha(sha, 0), 42, "async evalsha")
        script = r.register_script("return redis.call('incr', KEYS[1])")
        await r.script_flush()
        eq(await script(keys=["c"]), 1, "async registered script after flush")
        lock = r.lock("alock", timeout=5, blocking_timeout=0.2)
        assert await lock.acquire()
        assert not await r.lock("alock", timeout=5, blocking_timeout=0.1).acquire()
        assert await lock.extend(3)
        await lock.release()
        await r.function_load("#!lua name=alib\nredis.register_function('af', function() return 'ok' end)",
                              replace=True)
        eq(await r.fcall("af", 0), b"ok", "async fcall")
        await r.function_flush()
        await r.aclose() if hasattr(r, "aclose") else await r.close()

    asyncio.run(main())


# ---- busy scripts (on both servers: the texts are compared) ----

BUSY_LOOP = "local i = 0 while true do i = i + 1 end"


def _start_busy(srv, cmd):
    """Run cmd on its own connection in a thread; return (thread, result list)."""
    out = []
    c = srv.conn()

    def run():
        try:
            out.append(c.cmd(*cmd))
        except Exception as e:  # the connection closes on SHUTDOWN
            out.append(e)
        c.close()

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t, out


def _wait_busy(c):
    def busy():
        r = c.cmd("PING")
        return r.startswith(b"-BUSY")
    wait_until(busy, 20, "the script to be reported busy")
    return c.cmd("GET", "x")


def _busy_run(srv, kind):
    c = srv.conn()
    c.call("FLUSHALL")
    c.call("FUNCTION", "FLUSH")
    c.call("CONFIG", "SET", "busy-reply-threshold", "50")
    got = []
    if kind in ("script_kill", "kill_through_pcall"):
        body = BUSY_LOOP if kind == "script_kill" else \
            "while true do pcall(function() %s end) xpcall(function() %s end, function(e) return e end) end" \
            % (BUSY_LOOP, BUSY_LOOP)
        t, out = _start_busy(srv, ("EVAL", body, "0"))
        got.append(_wait_busy(c))
        got.append(c.cmd("FUNCTION", "KILL"))
        got.append(c.cmd("SCRIPT", "KILL"))
        t.join(20)
        got.append(out[0])
        got.append(c.cmd("PING"))
    elif kind == "function_kill":
        c.call("FUNCTION", "LOAD", "#!lua name=busy\nredis.register_function('spin', function() %s end)"
               % BUSY_LOOP)
        t, out = _start_busy(srv, ("FCALL", "spin", "0"))
        got.append(_wait_busy(c))
        got.append(c.cmd("SCRIPT", "KILL"))
        got.append(c.cmd("FUNCTION", "KILL"))
        t.join(20)
        got.append(out[0])
        got.append(c.cmd("PING"))
    elif kind == "unkillable":
        t, out = _start_busy(srv, ("EVAL", "redis.call('set','x','1') " + BUSY_LOOP, "0"))
        got.append(_wait_busy(c))
        got.append(c.cmd("SCRIPT", "KILL"))
        got.append(c.cmd("SHUTDOWN"))
        c.send(b"*2\r\n$8\r\nSHUTDOWN\r\n$6\r\nNOSAVE\r\n")
        wait_until(lambda: not srv.alive(), 20, "the server to exit on SHUTDOWN NOSAVE")
        t.join(20)
        srv.stopped = True  # it stopped itself: check what stop() would
        got.append(srv.proc.returncode)
        eq(srv.sanitizer_report(), "", "sanitizer report")
    c.close()
    return got


@pytest.mark.parametrize("kind", ["script_kill", "kill_through_pcall", "function_kill", "unkillable"])
def test_busy(make_server, make_oracle, kind):
    mine = _busy_run(make_server(), kind)
    theirs = _busy_run(make_oracle(), kind)
    eq(mine, theirs, "busy-script replies")


def test_busy_config_alias(server):
    c = server.conn()
    c.call("CONFIG", "SET", "lua-time-limit", "1234")
    eq(c.call("CONFIG", "GET", "busy-reply-threshold"), [b"busy-reply-threshold", b"1234"], "alias")
    c.call("CONFIG", "SET", "busy-reply-threshold", "5000")
    c.close()


def test_self_referencing_table(server, oracle):
    """A table that contains itself: nested arrays until Lua's stack limit, then an error
    element, as Redis; the server carries on."""
    import socket
    out = []
    for srv in (server, oracle):
        s = socket.create_connection(("127.0.0.1", srv.port), timeout=20)
        s.sendall(b"*3\r\n$4\r\nEVAL\r\n$32\r\nlocal t = {} t[1] = t return t  \r\n$1\r\n0\r\n*1\r\n$4\r\nPING\r\n")
        buf = b""
        deadline = time.monotonic() + 20
        while not buf.endswith(b"+PONG\r\n") and time.monotonic() < deadline:
            buf += s.recv(1 << 20)
        s.close()
        out.append(buf)
    assert out[0].endswith(b"+PONG\r\n"), out[0][-200:]
    eq(out[0], out[1], "nested reply")


def test_blocked_clients_served_after_the_script(server, oracle):
    """A BLPOP waiter is served once the script ends, with what the script left."""
    out = []
    for srv in (server, oracle):
        c, w = srv.conn(), srv.conn()
        c.call("DEL", "bl")
        w.send(b"*3\r\n$5\r\nBLPOP\r\n$2\r\nbl\r\n$1\r\n5\r\n")
        wait_until(lambda: b"blocked_clients:1" in c.call("INFO", "clients"), 10, "the BLPOP to block")
        got = [c.cmd("EVAL", "redis.call('rpush','bl','a','b') return redis.call('lpop','bl')", "0"), w.reply()]
        c.close()
        w.close()
        out.append(got)
    eq(out[0], out[1], "script result and the waiter's reply")


def test_error_stats(server, oracle):
    """commandstats' failed/rejected calls and errorstats after failing scripts, as Redis
    counts them (an error a command already counted is not counted again, but the script
    still failed)."""
    import re
    out = []
    for srv in (server, oracle):
        c = srv.conn()
        c.call("FLUSHALL")
        c.call("SET", "s", "x")
        c.call("CONFIG", "RESETSTAT")
        for script in ("return redis.call('nosuch')", "return redis.pcall('incr','a','b')", "return {err='x'}",
                       "return redis.call('incr','s')", "return {redis.pcall('incr','s'), redis.pcall('nosuch')}",
                       "error('x')", "return redis.call('get','s')"):
            c.cmd("EVAL", script, "0")
        stats = c.call("INFO", "commandstats").decode() + c.call("INFO", "errorstats").decode()
        lines = sorted(re.sub(r"usec=\d+,usec_per_call=[\d.]+,", "", line)
                       for line in stats.splitlines() if line.startswith(("cmdstat_", "errorstat_"))
                       and "config" not in line and "info" not in line)
        out.append(lines)
        c.close()
    eq(out[0], out[1], "commandstats and errorstats")


def test_acl_log_context(server):
    """A command a script may not run is logged with context lua and the caller's info."""
    c = server.conn()
    c.call("ACL", "LOG", "RESET")
    c.call("ACL", "SETUSER", "lu", "on", "nopass", "+eval", "+get", "~*")
    c.call("AUTH", "lu", "x")
    c.cmd("EVAL", "return redis.pcall('set','a','b')", "0")
    c.call("AUTH", "default", "x")
    entry = c.call("ACL", "LOG", "1")[0]
    fields = dict(zip(entry[::2], entry[1::2]))
    eq(fields[b"context"], b"lua", "context")
    eq(fields[b"object"], b"set", "object")
    assert b"cmd=eval" in fields[b"client-info"], fields
    c.call("ACL", "DELUSER", "lu")
    c.close()
