import { HttpService } from '@nestjs/axios';
import { Axios, AxiosInstance } from 'axios';

/**
 * The HttpService callbacks go through: an axios instance without the library's defaults.
 *
 * axios merges every request's config with its instance's defaults, key by key and deeply
 * (`mergeConfig`); with the defaults of `axios.create()` (headers per method, transitional
 * options, xsrf names, env, transforms) that merge and the header flattening after it cost
 * ~40 µs of CPU per request, against ~17 µs with none (measured in this project's profile of a
 * burst, where `mergeConfig` alone was the most expensive function of the delivery path). Every
 * callback request states all it uses (CallbackClient.post: adapter, transforms, status check,
 * timeout, signal), so the defaults add nothing but that cost.
 *
 * HttpService reads only the instance's methods (`request`, `post`…), never calls the instance
 * itself; an `Axios` is that object without the call signature of `axios.create()`'s function.
 */
export function callbackHttpService(): HttpService {
  return new HttpService(new Axios({}) as AxiosInstance);
}
